-- What the maintenance jobs did, for /metrics: one row per job, counted as runs end (no growth).
CREATE TABLE vercel_job_stats (
  job TEXT PRIMARY KEY CHECK (char_length(job) BETWEEN 1 AND 100),
  runs BIGINT NOT NULL DEFAULT 0,
  failures BIGINT NOT NULL DEFAULT 0,
  skipped BIGINT NOT NULL DEFAULT 0,
  duration_ms_sum BIGINT NOT NULL DEFAULT 0,
  last_duration_ms BIGINT,
  last_run_at TIMESTAMPTZ
);
