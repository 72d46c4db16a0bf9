-- Vercel's substate of a READY deployment: STAGED (built for production, never served it), ROLLING
-- or PROMOTED; NULL when Vercel did not say. A STAGED deployment is not live production and is no
-- rollback target; later substates Vercel may add are kept as sent.
ALTER TABLE vercel_deployments ADD COLUMN ready_substate TEXT
  CHECK (ready_substate IS NULL OR ready_substate ~ '^[A-Z_]{1,32}$');
