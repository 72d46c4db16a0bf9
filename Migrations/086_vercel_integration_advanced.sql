-- Auto-deploy configuration, rules and approvals; production override tokens; PR comments;
-- domains; build metrics; local environment variables (sealed); env sync confirmations; the git
-- providers' webhook secrets and tokens (sealed).

CREATE TABLE vercel_auto_deploy_configs (
  project_id UUID PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
  enabled BOOLEAN NOT NULL DEFAULT false,
  branch_patterns TEXT[] NOT NULL DEFAULT '{}',
  target_environment TEXT NOT NULL DEFAULT 'auto' CHECK (target_environment IN ('auto', 'production', 'preview')),
  requires_approval BOOLEAN NOT NULL DEFAULT false,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE vercel_auto_deploy_rules (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id UUID NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  pattern TEXT NOT NULL CHECK (char_length(pattern) BETWEEN 1 AND 255),
  target TEXT NOT NULL CHECK (target IN ('production', 'preview')),
  requires_approval BOOLEAN NOT NULL DEFAULT false,
  position INT NOT NULL DEFAULT 0,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE (project_id, pattern)
);

-- A deploy that waits for a person: created by a push whose rule requires approval.
CREATE TABLE vercel_deployment_approvals (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id UUID NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  branch TEXT NOT NULL,
  commit_sha TEXT,
  target TEXT NOT NULL CHECK (target IN ('production', 'preview')),
  request JSONB NOT NULL DEFAULT '{}'::JSONB,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected', 'expired')),
  decided_by UUID REFERENCES users(id),
  decided_at TIMESTAMPTZ,
  deployment_id TEXT,
  expires_at TIMESTAMPTZ NOT NULL,
  correlation_id TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX vercel_deployment_approvals_pending_idx ON vercel_deployment_approvals (project_id, created_at)
  WHERE status = 'pending';

-- Production deploy overrides: the token itself is never stored, only its SHA-256.
CREATE TABLE vercel_override_tokens (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id UUID NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  token_hash TEXT NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
  reason TEXT NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 1000),
  created_by UUID NOT NULL REFERENCES users(id),
  expires_at TIMESTAMPTZ NOT NULL,
  max_uses INT NOT NULL DEFAULT 1 CHECK (max_uses BETWEEN 1 AND 100),
  uses INT NOT NULL DEFAULT 0,
  correlation_id TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  CHECK (uses BETWEEN 0 AND max_uses),
  CHECK (expires_at > created_at)
);

CREATE TABLE vercel_pr_comments (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id UUID NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  provider TEXT NOT NULL CHECK (provider IN ('github', 'gitlab', 'bitbucket')),
  repository TEXT NOT NULL,
  pr_number INT NOT NULL CHECK (pr_number > 0),
  comment_id TEXT,
  deployment_id TEXT,
  last_state vercel_deploy_state,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE (project_id, provider, repository, pr_number)
);

CREATE TYPE vercel_domain_verification AS ENUM ('PENDING', 'VERIFIED', 'FAILED');
CREATE TABLE vercel_domains (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id UUID NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  vercel_project_mapping_id UUID NOT NULL REFERENCES vercel_project_mappings(id) ON DELETE CASCADE,
  name TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 253),
  apex_name TEXT,
  verified BOOLEAN NOT NULL DEFAULT false,
  verification_status vercel_domain_verification NOT NULL DEFAULT 'PENDING',
  verification_records JSONB NOT NULL DEFAULT '[]'::JSONB,
  ssl_status TEXT,
  configured BOOLEAN NOT NULL DEFAULT false,
  redirect TEXT,
  redirect_status_code INT CHECK (redirect_status_code IS NULL OR redirect_status_code IN (301, 302, 307, 308)),
  last_checked_at TIMESTAMPTZ,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX vercel_domains_name_key ON vercel_domains (vercel_project_mapping_id, lower(name));

CREATE TABLE vercel_build_metrics (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  project_id UUID NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  deployment_id TEXT NOT NULL UNIQUE,
  framework TEXT,
  deployment_type vercel_deploy_type,
  outcome vercel_deploy_state NOT NULL,
  queue_ms INT CHECK (queue_ms IS NULL OR queue_ms >= 0),
  build_duration_ms INT CHECK (build_duration_ms IS NULL OR build_duration_ms >= 0),
  cache_hit BOOLEAN,
  bundle_size_bytes BIGINT CHECK (bundle_size_bytes IS NULL OR bundle_size_bytes >= 0),
  file_count INT,
  error_code TEXT,
  recorded_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX vercel_build_metrics_project_idx ON vercel_build_metrics (project_id, recorded_at DESC);

-- The platform side of env sync: values sealed, compared by SHA-256.
CREATE TABLE vercel_local_env_vars (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id UUID NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  key TEXT NOT NULL CHECK (key ~ '^[A-Za-z_][A-Za-z0-9_]{0,255}$'),
  target vercel_env_target NOT NULL,
  value_sealed TEXT NOT NULL CHECK (value_sealed LIKE 'v1.%'),
  value_hash TEXT NOT NULL CHECK (value_hash ~ '^[0-9a-f]{64}$'),
  type TEXT NOT NULL DEFAULT 'encrypted' CHECK (type IN ('plain', 'encrypted', 'sensitive', 'system')),
  source TEXT NOT NULL DEFAULT 'platform' CHECK (source IN ('platform', 'vercel')),
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE (project_id, key, target)
);

-- A dry run's plan that a production sync must confirm: the token is kept only as a hash, bound to
-- the hash of the exact plan it confirms.
CREATE TABLE vercel_env_sync_confirmations (
  token_hash TEXT PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
  project_id UUID NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  plan_hash TEXT NOT NULL,
  expires_at TIMESTAMPTZ NOT NULL,
  consumed_at TIMESTAMPTZ,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE vercel_git_provider_credentials (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id UUID NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  provider TEXT NOT NULL CHECK (provider IN ('github', 'gitlab', 'bitbucket')),
  repository TEXT NOT NULL,
  webhook_secret_sealed TEXT NOT NULL CHECK (webhook_secret_sealed LIKE 'v1.%'),
  access_token_sealed TEXT CHECK (access_token_sealed IS NULL OR access_token_sealed LIKE 'v1.%'),
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE (provider, repository, project_id)
);
