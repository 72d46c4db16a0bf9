-- A connection's scopes may be unknown: an integration installation's permissions are stored only
-- where Vercel reports them. NULL says "Vercel did not say"; calls then learn from Vercel's 403.
ALTER TABLE vercel_connections ALTER COLUMN granted_scopes DROP NOT NULL;
ALTER TABLE vercel_connections ALTER COLUMN granted_scopes DROP DEFAULT;
