-- Env sync. The platform's values (vercel_local_env_vars, 086) gain the preview branch a value may
-- be for; a slot is (project, key, target, branch). value_hash is now a keyed HMAC (EnvValueHasher).
ALTER TABLE vercel_local_env_vars
  ADD COLUMN git_branch TEXT CHECK (git_branch IS NULL OR char_length(git_branch) BETWEEN 1 AND 250),
  DROP CONSTRAINT vercel_local_env_vars_project_id_key_target_key;
CREATE UNIQUE INDEX vercel_local_env_vars_slot_key
  ON vercel_local_env_vars (project_id, key, target, coalesce(git_branch, ''));

-- What both sides held after the last change applied to a slot (the base of the three-way plan),
-- and whether the Vercel variable is this service's: created by it, or adopted by a sync that said
-- so. A sync never overwrites or deletes a variable that is not.
CREATE TABLE vercel_env_sync_state (
  project_id UUID NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  key TEXT NOT NULL CHECK (key ~ '^[A-Za-z_][A-Za-z0-9_]{0,255}$'),
  target vercel_env_target NOT NULL,
  git_branch TEXT NOT NULL DEFAULT '',
  value_hash TEXT NOT NULL CHECK (value_hash ~ '^[0-9a-f]{64}$'),
  vercel_env_id TEXT NOT NULL CHECK (char_length(vercel_env_id) BETWEEN 1 AND 255),
  vercel_updated_at BIGINT NOT NULL,
  owned BOOLEAN NOT NULL DEFAULT true,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, key, target, git_branch)
);

-- A confirmation is for one target of one project, and says which direction it confirmed.
ALTER TABLE vercel_env_sync_confirmations
  ADD COLUMN target vercel_env_target,
  ADD COLUMN direction TEXT CHECK (direction IN ('to_vercel', 'from_vercel', 'bidirectional'));
