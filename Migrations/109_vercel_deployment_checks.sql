-- The blocking check this service registers with Vercel for each deployment, and what its probe
-- found: registered while the build runs (Vercel refuses a check on a finished build), run when the
-- deployment is READY, concluded at Vercel so a failed one holds the production alias. A row in
-- 'registering' or 'running' whose claim has lapsed was left by a run that died: the next one takes
-- it over (a registration first looks for the check at Vercel, so none is made twice).
CREATE TYPE vercel_deployment_check_status AS ENUM (
  'registering', 'registered', 'running', 'completed', 'unregistered');

CREATE TABLE vercel_deployment_checks (
  deployment_id TEXT PRIMARY KEY CHECK (length(deployment_id) BETWEEN 1 AND 255),
  project_id UUID NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  vercel_check_id TEXT CHECK (length(vercel_check_id) <= 255),
  status vercel_deployment_check_status NOT NULL DEFAULT 'registering',
  -- 'succeeded' or 'failed'; null until a run concludes.
  conclusion TEXT CHECK (conclusion IN ('succeeded', 'failed')),
  -- Each probe of the last run: path, status, durationMs, passed, reason.
  results JSONB NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(results) = 'array' AND pg_column_size(results) <= 16384),
  -- Why no check could be registered, or why the last run could not conclude at Vercel.
  reason TEXT CHECK (length(reason) <= 500),
  attempts INT NOT NULL DEFAULT 0,
  runs INT NOT NULL DEFAULT 0,
  claimed_until TIMESTAMPTZ,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  concluded_at TIMESTAMPTZ,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX vercel_deployment_checks_project_idx ON vercel_deployment_checks (project_id, created_at DESC);

-- A project may turn its smoke checks off (they are on unless it does): its deployments then get
-- no check, and Vercel promotes them as soon as they are built.
ALTER TABLE vercel_smoke_check_settings ADD COLUMN enabled BOOLEAN NOT NULL DEFAULT true;
