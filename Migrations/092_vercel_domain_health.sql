-- Custom domains as the domains group and vercel-job-domain-health keep them (086 made the table).
-- state is the one status a person reads: pending (the TXT record is not proven yet), misconfigured
-- (verified, but DNS does not point at Vercel), certificate_failing (DNS points at Vercel, which
-- still cannot issue a certificate), active, removed (no longer on the Vercel project: removed or
-- moved behind the service's back) and abandoned (never verified within 7 days: checks stop).
ALTER TABLE vercel_domains
  ADD COLUMN state TEXT NOT NULL DEFAULT 'pending'
    CHECK (state IN ('pending', 'misconfigured', 'certificate_failing', 'active', 'removed', 'abandoned')),
  ADD COLUMN configured_by TEXT,
  -- The A or CNAME record Vercel's configuration endpoint recommends for this name.
  ADD COLUMN dns_records JSONB NOT NULL DEFAULT '[]'::JSONB,
  ADD COLUMN state_reason TEXT,
  ADD COLUMN state_changed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  -- The health job's schedule: due at next_check_at; the wait doubles while nothing changes.
  ADD COLUMN next_check_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  ADD COLUMN check_interval_seconds INT NOT NULL DEFAULT 60 CHECK (check_interval_seconds > 0),
  ADD COLUMN last_check_error TEXT;

-- A domain serves one platform project at a time (a removed or abandoned row does not hold it).
CREATE UNIQUE INDEX vercel_domains_one_project_key ON vercel_domains (lower(name))
  WHERE state NOT IN ('removed', 'abandoned');

-- What the health job reads: only the domains that are due, oldest first.
CREATE INDEX vercel_domains_due_idx ON vercel_domains (next_check_at)
  WHERE state NOT IN ('removed', 'abandoned');

-- Every status change of a domain, once: written by whoever saw it first (a route or the job), in
-- the same statement that moved the state.
CREATE TABLE vercel_domain_history (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  domain_id UUID NOT NULL,
  project_id UUID NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  from_state TEXT NOT NULL,
  to_state TEXT NOT NULL,
  reason TEXT NOT NULL,
  observed_by TEXT NOT NULL CHECK (observed_by IN ('request', 'job')),
  correlation_id TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX vercel_domain_history_domain_idx ON vercel_domain_history (domain_id, id);
CREATE INDEX vercel_domain_history_project_idx ON vercel_domain_history (project_id, id);
