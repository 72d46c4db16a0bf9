-- What the one-shot jobs counted (calls to Vercel and the git hosts, token refreshes, builds that
-- ended), kept across their runs so the host's /metrics can serve it: one row per series, added to
-- as each run ends (no growth beyond the series, whose labels are templates, never ids).
CREATE TABLE vercel_metric_totals (
  family TEXT NOT NULL CHECK (char_length(family) BETWEEN 1 AND 200),
  name TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  labels TEXT NOT NULL CHECK (char_length(labels) <= 2000),
  value DOUBLE PRECISION NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (name, labels)
);

-- When each job last did its work (a run that failed or was skipped does not count): what an alert
-- on a job that has stopped succeeding reads.
ALTER TABLE vercel_job_stats ADD COLUMN last_success_at TIMESTAMPTZ;
