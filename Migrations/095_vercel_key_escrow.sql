-- Key escrow: `vercel-keyescrow split` records, for each key it split, only a key check value (an
-- HMAC of a constant under the key), the threshold and the number of shares; the shares themselves
-- go to their holders and nowhere else.
CREATE TABLE vercel_key_escrow (
  key_id TEXT PRIMARY KEY CHECK (key_id ~ '^[A-Za-z0-9_-]{1,32}$'),
  check_value TEXT NOT NULL CHECK (check_value ~ '^[0-9a-f]{64}$'),
  threshold INT NOT NULL CHECK (threshold BETWEEN 2 AND 255),
  shares INT NOT NULL CHECK (shares BETWEEN threshold AND 255),
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Shares handed in during a recovery, unseal-style: one per admin and per x-coordinate, sealed under
-- the ring's current key while the recovery gathers them, deleted once it ends (recovered, failed or
-- reset).
CREATE TABLE vercel_key_recovery_shares (
  request_id UUID NOT NULL REFERENCES vercel_breakglass_requests(id) ON DELETE CASCADE,
  admin_id UUID NOT NULL REFERENCES users(id),
  key_id TEXT NOT NULL REFERENCES vercel_key_escrow(key_id) ON DELETE CASCADE,
  x SMALLINT NOT NULL CHECK (x BETWEEN 1 AND 255),
  share_sealed TEXT NOT NULL CHECK (share_sealed LIKE 'v1.%'),
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (request_id, admin_id),
  UNIQUE (request_id, x)
);
