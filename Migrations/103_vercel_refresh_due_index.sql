-- The token refresh job looks for tokens about to expire among connections that are connected or
-- in error (an error can be a failed refresh worth one more try). The index of 084 covers
-- connected ones only, so the job's query could not use it and read every connection (36 ms at
-- 100,000 connections). This one has the job's own predicate.
DROP INDEX IF EXISTS vercel_connections_expiring_idx;
CREATE INDEX vercel_connections_refresh_due_idx ON vercel_connections (token_expires_at)
  WHERE status IN ('connected', 'error') AND refresh_token_sealed IS NOT NULL;
