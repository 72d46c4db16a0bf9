-- Authorizations that came back from Vercel and wait for the platform to confirm them for the
-- signed-in user. Only the SHA-256 of the confirmation token is kept; the grant (tokens included)
-- is sealed for its row. Spent (deleted) by the first confirmation, mismatched or not.
CREATE TABLE vercel_oauth_confirmations (
  token_hash TEXT PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
  user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  grant_sealed TEXT NOT NULL CHECK (grant_sealed LIKE 'v1.%'),
  correlation_id TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  expires_at TIMESTAMPTZ NOT NULL,
  CHECK (expires_at > created_at)
);
CREATE INDEX vercel_oauth_confirmations_expires_idx ON vercel_oauth_confirmations (expires_at);
