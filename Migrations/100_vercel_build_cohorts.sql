-- The benchmarks' cohorts, kept instead of recomputed on every request: each project's median build
-- time per framework over the last 30 days, refreshed by the route when older than ten minutes.
CREATE TABLE vercel_build_cohort_medians (
  framework TEXT NOT NULL,
  project_id UUID NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  median_ms DOUBLE PRECISION NOT NULL,
  computed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (framework, project_id)
);
CREATE INDEX vercel_build_cohort_medians_rank_idx ON vercel_build_cohort_medians (framework, median_ms);
