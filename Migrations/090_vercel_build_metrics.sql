-- Why a build ended as it did, and what it cost: vercel_build_metrics (086) gets what its row
-- records once a build ends (written once, by vercel-job-deployment-sync, from Vercel's own report):
-- the Vercel project, the failing step, when the deployment was created, the bytes a deployment from
-- disk uploaded (file_count holds its files). queue_ms is building - created, build_duration_ms
-- ready - building.
ALTER TABLE vercel_build_metrics
  ADD COLUMN vercel_project_id TEXT,
  ADD COLUMN error_step TEXT,
  ADD COLUMN created_at TIMESTAMPTZ,
  ADD COLUMN bytes_uploaded BIGINT CHECK (bytes_uploaded IS NULL OR bytes_uploaded >= 0);

-- Vercel's out-of-memory report of a failed build, when it gives one.
ALTER TABLE vercel_deployments ADD COLUMN oom_report TEXT;

-- The deployments still in progress, oldest update first: what the sync job re-reads when no
-- webhook came.
CREATE INDEX vercel_deployments_in_progress_idx ON vercel_deployments (updated_at)
  WHERE deployment_state IN ('QUEUED', 'INITIALIZING', 'BUILDING');
