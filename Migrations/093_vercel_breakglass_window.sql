-- A break-glass request, once approved, opens a window of its level's length in which its requester
-- may execute it once; expires_at stays the deadline for the approvals. Requests per requester per
-- day are counted from created_at.
ALTER TABLE vercel_breakglass_requests
  ADD COLUMN approved_at TIMESTAMPTZ,
  ADD COLUMN window_ends_at TIMESTAMPTZ,
  ADD CONSTRAINT vercel_breakglass_requests_window CHECK ((status = 'approved') <= (window_ends_at IS NOT NULL));
CREATE INDEX vercel_breakglass_requests_requester_idx ON vercel_breakglass_requests (requested_by, created_at DESC);
