-- A deployment watched after it became production: the sync job probes it with its project's smoke
-- checks each run until `watch_until`; `failures` consecutive failed runs roll production back to
-- `previous_deployment_id`, once. One row per deployment, so it is watched (and rolled back) at
-- most once however often it is promoted. A newer promotion of the project supersedes the watch:
-- the user's own move wins.
CREATE TYPE vercel_production_watch_status AS ENUM (
  'watching', 'passed', 'superseded', 'rolled_back', 'held');

CREATE TABLE vercel_production_watch (
  deployment_id TEXT PRIMARY KEY CHECK (length(deployment_id) BETWEEN 1 AND 255),
  project_id UUID NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  previous_deployment_id TEXT CHECK (length(previous_deployment_id) BETWEEN 1 AND 255),
  status vercel_production_watch_status NOT NULL DEFAULT 'watching',
  watch_until TIMESTAMPTZ NOT NULL,
  failures INT NOT NULL DEFAULT 0,
  probes INT NOT NULL DEFAULT 0,
  -- The last run's probes (path, status, durationMs, passed, reason).
  results JSONB NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(results) = 'array' AND pg_column_size(results) <= 16384),
  -- Why it was rolled back, held or superseded.
  reason TEXT CHECK (length(reason) <= 500),
  claimed_until TIMESTAMPTZ,
  started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  ended_at TIMESTAMPTZ,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX vercel_production_watch_project_idx ON vercel_production_watch (project_id, started_at DESC);
CREATE INDEX vercel_production_watch_due_idx ON vercel_production_watch (watch_until) WHERE status = 'watching';

-- Rollback on its own, per project: on unless turned off, for how long after a promotion, and how
-- many consecutive failed runs of the checks (one a minute) roll it back.
ALTER TABLE vercel_smoke_check_settings
  ADD COLUMN rollback_enabled BOOLEAN NOT NULL DEFAULT true,
  ADD COLUMN rollback_window_minutes INT NOT NULL DEFAULT 15 CHECK (rollback_window_minutes BETWEEN 1 AND 1440),
  ADD COLUMN rollback_failures INT NOT NULL DEFAULT 3 CHECK (rollback_failures BETWEEN 1 AND 60);
