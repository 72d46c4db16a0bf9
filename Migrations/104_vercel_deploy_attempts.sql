-- A deployment being made at Vercel, from just before Vercel is asked until it is recorded (the
-- recording statement deletes the row). A row that outlives its request (the process died, or
-- Vercel's answer was lost, between the two) is an orphan's trace: vercel-job-deployment-sync finds
-- the deployment at Vercel by the attempt's id in its `meta` and records it, or cancels it when the
-- project is no longer linked to that Vercel project.
CREATE TABLE vercel_deploy_attempts (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id UUID NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  vercel_connection_id UUID NOT NULL REFERENCES vercel_connections(id) ON DELETE CASCADE,
  vercel_project_id TEXT NOT NULL CHECK (char_length(vercel_project_id) BETWEEN 1 AND 255),
  production BOOLEAN NOT NULL,
  created_by UUID NOT NULL,
  started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  claimed_until TIMESTAMPTZ
);
CREATE INDEX vercel_deploy_attempts_started_idx ON vercel_deploy_attempts (started_at);
