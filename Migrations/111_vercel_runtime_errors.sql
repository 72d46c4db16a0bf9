-- The errors among a deployment's runtime logs (a line logged as error or fatal, or a request
-- answered 5xx), kept for a status widget's summary (`GET …/deployments/:id/runtime-errors`) while
-- a pump follows the deployment's logs. One row per line Vercel sent (its rowId), whichever host's
-- pump saw it; kept a day (vercel-job-webhook-cleanup removes older ones).
CREATE TABLE vercel_runtime_errors (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  deployment_id TEXT NOT NULL CHECK (length(deployment_id) BETWEEN 1 AND 255),
  project_id UUID NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  row_id TEXT NOT NULL CHECK (length(row_id) BETWEEN 1 AND 255),
  logged_at TIMESTAMPTZ NOT NULL,
  level TEXT NOT NULL CHECK (length(level) BETWEEN 1 AND 16),
  source TEXT NOT NULL CHECK (length(source) BETWEEN 1 AND 32),
  request_method TEXT NOT NULL CHECK (length(request_method) <= 16),
  request_path TEXT NOT NULL CHECK (length(request_path) <= 1024),
  status INT CHECK (status BETWEEN 0 AND 999),
  message TEXT NOT NULL CHECK (length(message) <= 1000),
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE (deployment_id, row_id)
);
CREATE INDEX vercel_runtime_errors_deployment_idx ON vercel_runtime_errors (deployment_id, logged_at DESC);
CREATE INDEX vercel_runtime_errors_created_idx ON vercel_runtime_errors (created_at);
