-- The smoke checks a linked project sets: the paths of each new deployment that are probed before
-- it may serve production, each with the status expected, a text its body must contain and a
-- latency budget. A project without a row gets the default check (its root answers 2xx with a
-- body). The shape of each entry is the service's to check; the table bounds its size.
CREATE TABLE vercel_smoke_check_settings (
  vercel_project_mapping_id UUID PRIMARY KEY REFERENCES vercel_project_mappings(id) ON DELETE CASCADE,
  checks JSONB NOT NULL CHECK (
    jsonb_typeof(checks) = 'array' AND jsonb_array_length(checks) BETWEEN 1 AND 10
    AND pg_column_size(checks) <= 8192),
  updated_by UUID REFERENCES users(id) ON DELETE SET NULL,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
