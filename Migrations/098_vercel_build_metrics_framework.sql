-- The benchmarks' cohort: the READY builds of one framework in a window, across projects.
CREATE INDEX vercel_build_metrics_framework_idx ON vercel_build_metrics (framework, recorded_at)
  WHERE outcome = 'READY';
