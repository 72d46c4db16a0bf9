-- Found by scripts/bench scale (100,000 connections): a user's connections were read by scanning
-- the table (the two user_id indexes are partial, for personal and team connections), and key
-- rotation found "nothing to re-seal" by scanning every sealed column.
CREATE INDEX vercel_connections_user_idx ON vercel_connections (user_id, updated_at DESC);

-- The key id a sealed value names (`v1.<kid>.…`): rotation reads the values not under the current
-- key as two range scans (below and above it).
CREATE INDEX vercel_connections_access_key_idx ON vercel_connections ((split_part(access_token_sealed, '.', 2)));
CREATE INDEX vercel_connections_refresh_key_idx ON vercel_connections ((split_part(refresh_token_sealed, '.', 2)));
CREATE INDEX vercel_local_env_vars_key_idx ON vercel_local_env_vars ((split_part(value_sealed, '.', 2)));
