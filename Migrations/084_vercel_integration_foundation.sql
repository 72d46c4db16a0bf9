-- Connections, OAuth states, request nonces, project mappings, deployments (monthly partitions),
-- env sync configuration, webhook dedup and the job queue.
--
-- Fixed from the original plan: partial unique indexes instead of UNIQUE ... WHERE in CREATE TABLE;
-- deployments unique by deployment_id through vercel_deployment_keys (a partitioned table's unique
-- keys must include created_at); webhook dedup without NOW() in an index predicate and without two
-- ON CONFLICT clauses; tokens sealed with row-bound associated data in one envelope column each.

CREATE TYPE vercel_deploy_state AS ENUM
  ('QUEUED', 'INITIALIZING', 'BUILDING', 'READY', 'ERROR', 'CANCELED', 'BLOCKED');
CREATE TYPE vercel_deploy_type AS ENUM ('PREVIEW', 'PRODUCTION');
CREATE TYPE vercel_env_target AS ENUM ('production', 'preview', 'development');
CREATE TYPE vercel_connection_status AS ENUM ('connected', 'disconnected', 'error', 'revoked', 'expired');

-- One personal connection per user and one per (user, team). Tokens are sealed envelopes
-- (`v1.<kid>.<iv>.<ciphertext+tag>`, see KeyRing); a disconnected connection has none.
CREATE TABLE vercel_connections (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  project_id UUID REFERENCES projects(id) ON DELETE SET NULL,
  team_id TEXT CHECK (team_id IS NULL OR char_length(team_id) BETWEEN 1 AND 255),
  team_name TEXT,
  account_type TEXT NOT NULL CHECK (account_type IN ('personal', 'team')),
  vercel_user_id TEXT,
  user_email TEXT,
  auth_mode TEXT NOT NULL DEFAULT 'integration' CHECK (auth_mode IN ('integration', 'oauth_app')),
  configuration_id TEXT,
  installation_id TEXT,
  access_token_sealed TEXT CHECK (access_token_sealed IS NULL OR access_token_sealed LIKE 'v1.%'),
  refresh_token_sealed TEXT CHECK (refresh_token_sealed IS NULL OR refresh_token_sealed LIKE 'v1.%'),
  token_key_id TEXT,
  token_expires_at TIMESTAMPTZ,
  granted_scopes TEXT[] NOT NULL DEFAULT '{}',
  status vercel_connection_status NOT NULL DEFAULT 'connected',
  error_message TEXT,
  refresh_failures INT NOT NULL DEFAULT 0 CHECK (refresh_failures >= 0),
  circuit_breaker_state JSONB NOT NULL DEFAULT '{"consecutive_failures": 0, "is_open": false}'::JSONB,
  metadata JSONB NOT NULL DEFAULT '{}'::JSONB,
  correlation_id TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  last_sync_at TIMESTAMPTZ,
  CHECK ((account_type = 'team') = (team_id IS NOT NULL)),
  CHECK (status <> 'connected' OR access_token_sealed IS NOT NULL)
);
CREATE UNIQUE INDEX vercel_connections_personal_key ON vercel_connections (user_id) WHERE team_id IS NULL;
CREATE UNIQUE INDEX vercel_connections_team_key ON vercel_connections (user_id, team_id) WHERE team_id IS NOT NULL;
CREATE INDEX vercel_connections_team_status_idx ON vercel_connections (team_id, status) WHERE team_id IS NOT NULL;
CREATE INDEX vercel_connections_expiring_idx ON vercel_connections (token_expires_at)
  WHERE status = 'connected' AND refresh_token_sealed IS NOT NULL;
CREATE INDEX vercel_connections_configuration_idx ON vercel_connections (configuration_id)
  WHERE configuration_id IS NOT NULL;

-- A pending OAuth authorization. Only the SHA-256 of `state` is kept; the PKCE verifier is sealed.
CREATE TABLE vercel_oauth_states (
  state_hash TEXT PRIMARY KEY CHECK (state_hash ~ '^[0-9a-f]{64}$'),
  user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  project_id UUID REFERENCES projects(id) ON DELETE CASCADE,
  team_id TEXT,
  redirect_uri TEXT,
  code_verifier_sealed TEXT CHECK (code_verifier_sealed IS NULL OR code_verifier_sealed LIKE 'v1.%'),
  auth_mode TEXT NOT NULL CHECK (auth_mode IN ('integration', 'oauth_app')),
  correlation_id TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  expires_at TIMESTAMPTZ NOT NULL,
  consumed_at TIMESTAMPTZ,
  CHECK (expires_at > created_at)
);
CREATE INDEX vercel_oauth_states_expires_idx ON vercel_oauth_states (expires_at);

-- Nonces of accepted platform requests (DESIGN.md: kept 10 minutes, shared by every process).
CREATE TABLE vercel_request_nonces (
  nonce TEXT PRIMARY KEY CHECK (char_length(nonce) BETWEEN 1 AND 200),
  seen_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX vercel_request_nonces_seen_idx ON vercel_request_nonces (seen_at);

-- A platform project linked to one Vercel project.
CREATE TABLE vercel_project_mappings (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id UUID NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  vercel_connection_id UUID NOT NULL REFERENCES vercel_connections(id) ON DELETE CASCADE,
  vercel_project_id TEXT NOT NULL CHECK (char_length(vercel_project_id) BETWEEN 1 AND 255),
  vercel_project_name TEXT,
  framework TEXT,
  node_version TEXT,
  build_command TEXT,
  output_directory TEXT,
  install_command TEXT,
  dev_command TEXT,
  root_directory TEXT,
  production_branch TEXT NOT NULL DEFAULT 'main',
  git_repository JSONB,
  environment_target vercel_env_target[] NOT NULL DEFAULT '{production,preview}',
  auto_deploy BOOLEAN NOT NULL DEFAULT true,
  deployment_hooks_enabled BOOLEAN NOT NULL DEFAULT false,
  deployment_branch_patterns TEXT[] NOT NULL DEFAULT '{}',
  metadata JSONB NOT NULL DEFAULT '{}'::JSONB,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE (project_id),
  UNIQUE (vercel_connection_id, vercel_project_id)
);
CREATE INDEX vercel_project_mappings_vercel_project_idx ON vercel_project_mappings (vercel_project_id);

-- The one row per deployment id that decides which partition its deployment row lives in: the
-- upsert key of vercel_deployments is (deployment_id, created_at) with created_at read from here.
CREATE TABLE vercel_deployment_keys (
  deployment_id TEXT PRIMARY KEY CHECK (char_length(deployment_id) BETWEEN 1 AND 255),
  created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX vercel_deployment_keys_created_idx ON vercel_deployment_keys (created_at);

-- The partition key of `deployment_id`: the created_at recorded first, or `proposed` when new.
-- Concurrent callers for one id all get the same value.
CREATE FUNCTION vercel_deployment_created_at(p_deployment_id TEXT, p_proposed TIMESTAMPTZ)
RETURNS TIMESTAMPTZ LANGUAGE sql AS $$
  INSERT INTO vercel_deployment_keys AS k (deployment_id, created_at)
  VALUES (p_deployment_id, coalesce(p_proposed, now()))
  ON CONFLICT (deployment_id) DO UPDATE SET deployment_id = k.deployment_id
  RETURNING k.created_at
$$;

CREATE TABLE vercel_deployments (
  id UUID NOT NULL DEFAULT gen_random_uuid(),
  project_id UUID NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  vercel_project_mapping_id UUID REFERENCES vercel_project_mappings(id) ON DELETE SET NULL,
  vercel_project_id TEXT,
  deployment_id TEXT NOT NULL,
  deployment_url TEXT,
  alias_urls TEXT[] NOT NULL DEFAULT '{}',
  deployment_state vercel_deploy_state NOT NULL DEFAULT 'QUEUED',
  deployment_type vercel_deploy_type NOT NULL,
  target TEXT,
  created_by UUID,
  git_source JSONB NOT NULL DEFAULT '{}'::JSONB,
  build_logs_url TEXT,
  environment TEXT,
  build_duration_ms INT CHECK (build_duration_ms IS NULL OR build_duration_ms >= 0),
  metadata JSONB NOT NULL DEFAULT '{}'::JSONB,
  last_event_at TIMESTAMPTZ,
  invalid_transitions INT NOT NULL DEFAULT 0,
  correlation_id TEXT,
  created_at TIMESTAMPTZ NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  ready_at TIMESTAMPTZ,
  completed_at TIMESTAMPTZ,
  error_message TEXT,
  error_code TEXT,
  error_step TEXT CHECK (error_step IS NULL OR error_step IN ('BUILD', 'DEPLOY', 'CHECK')),
  PRIMARY KEY (deployment_id, created_at),
  UNIQUE (id, created_at)
) PARTITION BY RANGE (created_at);

CREATE TABLE vercel_deployments_default PARTITION OF vercel_deployments DEFAULT;

CREATE INDEX vercel_deployments_project_created_idx ON vercel_deployments (project_id, created_at DESC);
CREATE INDEX vercel_deployments_active_idx ON vercel_deployments (deployment_state, created_at DESC)
  WHERE deployment_state IN ('QUEUED', 'INITIALIZING', 'BUILDING');
CREATE INDEX vercel_deployments_branch_idx ON vercel_deployments (project_id, (git_source ->> 'branch'));

-- An idempotency key of a deploy request names one deployment for good.
CREATE TABLE vercel_deployment_idempotency (
  project_id UUID NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  idempotency_key TEXT NOT NULL CHECK (char_length(idempotency_key) BETWEEN 1 AND 255),
  deployment_id TEXT,
  request_hash TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, idempotency_key)
);

CREATE TABLE vercel_env_sync_configs (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  vercel_project_mapping_id UUID NOT NULL UNIQUE REFERENCES vercel_project_mappings(id) ON DELETE CASCADE,
  sync_direction TEXT NOT NULL CHECK (sync_direction IN ('to_vercel', 'from_vercel', 'bidirectional')),
  env_targets vercel_env_target[] NOT NULL DEFAULT '{}',
  include_patterns TEXT[] NOT NULL DEFAULT '{}',
  exclude_patterns TEXT[] NOT NULL DEFAULT '{}',
  sensitive_keys TEXT[] NOT NULL DEFAULT '{}',
  env_var_hashes JSONB NOT NULL DEFAULT '{}'::JSONB,
  last_sync_at TIMESTAMPTZ,
  sync_status TEXT,
  last_sync_error TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Webhook deliveries already handled: by Vercel's event id, or by (deployment id, SHA-256 of the
-- body) when the event has no id.
CREATE TABLE vercel_webhook_dedup (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  event_id TEXT,
  event_type TEXT,
  deployment_id TEXT,
  payload_hash TEXT NOT NULL CHECK (payload_hash ~ '^[0-9a-f]{64}$'),
  processing_ms INT,
  correlation_id TEXT,
  processed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX vercel_webhook_dedup_event_key ON vercel_webhook_dedup (event_id) WHERE event_id IS NOT NULL;
CREATE UNIQUE INDEX vercel_webhook_dedup_payload_key ON vercel_webhook_dedup (deployment_id, payload_hash)
  WHERE event_id IS NULL;
CREATE INDEX vercel_webhook_dedup_processed_idx ON vercel_webhook_dedup (processed_at);

-- Work to do later: events that could not be applied yet, alerts to send, retries. Claimed with
-- FOR UPDATE SKIP LOCKED, so any number of job runners on any number of hosts share it.
CREATE TYPE vercel_job_status AS ENUM ('pending', 'running', 'done', 'dead');
CREATE TABLE vercel_jobs (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind TEXT NOT NULL CHECK (char_length(kind) BETWEEN 1 AND 100),
  payload JSONB NOT NULL DEFAULT '{}'::JSONB,
  dedup_key TEXT,
  status vercel_job_status NOT NULL DEFAULT 'pending',
  attempts INT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  max_attempts INT NOT NULL DEFAULT 10 CHECK (max_attempts > 0),
  run_after TIMESTAMPTZ NOT NULL DEFAULT now(),
  locked_until TIMESTAMPTZ,
  last_error TEXT,
  correlation_id TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  CHECK (attempts <= max_attempts)
);
CREATE INDEX vercel_jobs_due_idx ON vercel_jobs (kind, run_after) WHERE status = 'pending';
CREATE INDEX vercel_jobs_dead_idx ON vercel_jobs (kind, updated_at) WHERE status = 'dead';
CREATE UNIQUE INDEX vercel_jobs_dedup_key ON vercel_jobs (kind, dedup_key)
  WHERE dedup_key IS NOT NULL AND status IN ('pending', 'running');
