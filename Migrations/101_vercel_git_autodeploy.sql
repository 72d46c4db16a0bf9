-- Auto-deploy from the git providers: one repository per project with its webhook secrets (two
-- valid during a rotation), every delivery's decision, approvals for an exact commit, and the
-- auto-deploy settings in one place.

-- One repository per project. The secret of the webhook before the last PUT stays valid for a
-- while, so a provider that still signs with it is not refused during the change.
ALTER TABLE vercel_git_provider_credentials
  ADD COLUMN previous_webhook_secret_sealed TEXT
    CHECK (previous_webhook_secret_sealed IS NULL OR previous_webhook_secret_sealed LIKE 'v1.%'),
  ADD COLUMN previous_secret_valid_until TIMESTAMPTZ,
  ADD COLUMN refused_deliveries BIGINT NOT NULL DEFAULT 0 CHECK (refused_deliveries >= 0),
  ADD COLUMN last_refused_at TIMESTAMPTZ,
  ADD CONSTRAINT vercel_git_provider_credentials_repository_check
    CHECK (char_length(repository) BETWEEN 3 AND 255);
CREATE UNIQUE INDEX vercel_git_provider_credentials_project_key ON vercel_git_provider_credentials (project_id);
CREATE INDEX vercel_git_provider_credentials_repository_idx
  ON vercel_git_provider_credentials (provider, lower(repository));
CREATE INDEX vercel_git_provider_credentials_secret_key_idx
  ON vercel_git_provider_credentials ((split_part(webhook_secret_sealed, '.', 2)));
CREATE INDEX vercel_git_provider_credentials_previous_key_idx
  ON vercel_git_provider_credentials ((split_part(previous_webhook_secret_sealed, '.', 2)));
CREATE INDEX vercel_git_provider_credentials_token_key_idx
  ON vercel_git_provider_credentials ((split_part(access_token_sealed, '.', 2)));

-- Whether and where pushes deploy is the link's (auto_deploy, deployment_branch_patterns), which
-- the link routes edit too; this table keeps only what the link does not have.
ALTER TABLE vercel_auto_deploy_configs DROP COLUMN enabled, DROP COLUMN branch_patterns;

ALTER TABLE vercel_auto_deploy_rules ADD CONSTRAINT vercel_auto_deploy_rules_position_check CHECK (position >= 0);

-- What each delivery (and each branch change of a delivery that carries several) decided.
CREATE TABLE vercel_git_deliveries (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  project_id UUID NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  provider TEXT NOT NULL CHECK (provider IN ('github', 'gitlab', 'bitbucket')),
  delivery_id TEXT NOT NULL CHECK (char_length(delivery_id) BETWEEN 1 AND 255),
  item INT NOT NULL DEFAULT 0 CHECK (item BETWEEN 0 AND 99),
  kind TEXT NOT NULL CHECK (char_length(kind) BETWEEN 1 AND 100),
  repository TEXT CHECK (char_length(repository) <= 255),
  branch TEXT CHECK (char_length(branch) <= 255),
  commit_sha TEXT CHECK (commit_sha ~ '^[0-9a-f]{7,64}$'),
  committed_at TIMESTAMPTZ,
  pr_number INT CHECK (pr_number > 0),
  from_fork BOOLEAN NOT NULL DEFAULT false,
  decision TEXT NOT NULL CHECK (decision IN ('deployed', 'skipped', 'waiting_approval', 'ignored', 'failed')),
  reason TEXT NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 500),
  target TEXT CHECK (target IN ('production', 'preview')),
  deployment_id TEXT,
  approval_id UUID,
  correlation_id TEXT,
  received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE (project_id, provider, delivery_id, item)
);
CREATE INDEX vercel_git_deliveries_project_idx ON vercel_git_deliveries (project_id, id DESC);
CREATE INDEX vercel_git_deliveries_deployment_idx ON vercel_git_deliveries (deployment_id) WHERE deployment_id IS NOT NULL;
CREATE INDEX vercel_git_deliveries_received_idx ON vercel_git_deliveries (received_at);

-- Approvals name the delivery's exact commit and what it is for: a push to a branch
-- (`push:<branch>`) or a pull request (`pr:<number>`). A newer commit for the same subject
-- supersedes the pending one; at most one is pending per subject.
ALTER TABLE vercel_deployment_approvals DROP CONSTRAINT vercel_deployment_approvals_status_check;
ALTER TABLE vercel_deployment_approvals
  ADD CONSTRAINT vercel_deployment_approvals_status_check
    CHECK (status IN ('pending', 'approved', 'denied', 'superseded', 'expired')),
  ADD COLUMN provider TEXT NOT NULL CHECK (provider IN ('github', 'gitlab', 'bitbucket')),
  ADD COLUMN repository TEXT NOT NULL CHECK (char_length(repository) BETWEEN 1 AND 255),
  ADD COLUMN subject TEXT NOT NULL CHECK (char_length(subject) BETWEEN 1 AND 300),
  ADD COLUMN pr_number INT CHECK (pr_number > 0),
  ADD COLUMN from_fork BOOLEAN NOT NULL DEFAULT false,
  ADD COLUMN reason TEXT NOT NULL DEFAULT '' CHECK (char_length(reason) <= 500),
  ADD COLUMN committed_at TIMESTAMPTZ,
  ALTER COLUMN commit_sha SET NOT NULL,
  ADD CONSTRAINT vercel_deployment_approvals_sha_check CHECK (commit_sha ~ '^[0-9a-f]{7,64}$');
CREATE UNIQUE INDEX vercel_deployment_approvals_subject_key ON vercel_deployment_approvals (project_id, subject)
  WHERE status = 'pending';
CREATE INDEX vercel_deployment_approvals_project_idx ON vercel_deployment_approvals (project_id, created_at DESC);
