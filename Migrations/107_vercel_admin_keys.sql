-- Each admin's Ed25519 public key: every break-glass decision (approve, deny, execute) and every
-- key share handed in is signed with it, so the platform's HMAC secret alone approves nothing. The
-- first key is enrolled on the host (`vercel-admin enrol-first`, with database access); later
-- enrolments, rotations and revocations are ADMIN_KEY break-glass requests the enrolled quorum
-- approves. One active key per admin; a revoked key stays, so old signatures can still be read.
CREATE TABLE vercel_admin_keys (
  fingerprint TEXT PRIMARY KEY CHECK (fingerprint ~ '^SHA256:[A-Za-z0-9+/]{43}$'),
  admin_id UUID NOT NULL REFERENCES users(id),
  public_key TEXT NOT NULL UNIQUE CHECK (public_key ~ '^[A-Za-z0-9_-]{43}$'),
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
  enrolled_by TEXT NOT NULL CHECK (enrolled_by IN ('host', 'quorum')),
  request_id UUID REFERENCES vercel_breakglass_requests(id),
  approved_by UUID[] NOT NULL DEFAULT '{}',
  enrolled_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  revoked_at TIMESTAMPTZ,
  revoked_by_request UUID REFERENCES vercel_breakglass_requests(id),
  CHECK ((status = 'revoked') = (revoked_at IS NOT NULL)),
  CHECK ((enrolled_by = 'quorum') = (request_id IS NOT NULL))
);
CREATE UNIQUE INDEX vercel_admin_keys_one_active ON vercel_admin_keys (admin_id) WHERE status = 'active';

-- The nonce of every signed statement the service accepted: a statement counts once. Statements
-- older than five minutes are refused anyway, so the job that prunes request nonces forgets these
-- after an hour.
CREATE TABLE vercel_admin_signature_nonces (
  nonce TEXT PRIMARY KEY CHECK (nonce ~ '^[A-Za-z0-9_-]{16,64}$'),
  fingerprint TEXT NOT NULL REFERENCES vercel_admin_keys(fingerprint),
  used_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX vercel_admin_signature_nonces_used_idx ON vercel_admin_signature_nonces (used_at);

-- ADMIN_KEY requests carry the key change they ask for; they take effect on the approval that
-- completes their quorum.
ALTER TABLE vercel_breakglass_requests DROP CONSTRAINT vercel_breakglass_requests_access_level_check;
ALTER TABLE vercel_breakglass_requests
  ADD CONSTRAINT vercel_breakglass_requests_access_level_check
    CHECK (access_level IN ('READ_METADATA', 'DECRYPT_TOKENS', 'EMERGENCY_RECOVERY', 'ADMIN_KEY')),
  ADD COLUMN key_action TEXT CHECK (key_action IN ('enrol', 'rotate', 'revoke')),
  ADD COLUMN key_admin_id UUID REFERENCES users(id),
  ADD COLUMN key_public_key TEXT CHECK (key_public_key ~ '^[A-Za-z0-9_-]{43}$'),
  ADD COLUMN key_fingerprint TEXT CHECK (key_fingerprint ~ '^SHA256:[A-Za-z0-9+/]{43}$'),
  ADD CONSTRAINT vercel_breakglass_requests_key_change CHECK (
    (access_level = 'ADMIN_KEY') = (key_action IS NOT NULL)
    AND (key_action IS NULL OR (key_admin_id IS NOT NULL AND key_fingerprint IS NOT NULL))
    AND ((key_action IN ('enrol', 'rotate')) IS TRUE) = (key_public_key IS NOT NULL));

-- Which key signed each decision, and the signature, so a decision can be verified again later.
ALTER TABLE vercel_breakglass_approvals
  ADD COLUMN key_fingerprint TEXT REFERENCES vercel_admin_keys(fingerprint),
  ADD COLUMN signature TEXT CHECK (char_length(signature) <= 200);
