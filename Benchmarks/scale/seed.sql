-- A platform at scale, for scripts/bench scale: 100,000 users each with a Vercel connection, 10,000
-- projects linked to the first 10,000, 1,000,000 deployments over the last 12 months (a monthly
-- partition each) and a build metrics row per finished deployment. Tokens are placeholders under the
-- key id :'key_id' (nothing here is ever decrypted). Idempotent per run tag :'tag'.
\set ON_ERROR_STOP on
SET synchronous_commit = off;

-- The past eleven months' partitions, as vercel_ensure_deployment_partitions makes the coming ones.
DO $$
DECLARE
  this_month DATE := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
  month_start DATE;
  name TEXT;
BEGIN
  FOR i IN 1..11 LOOP
    month_start := (this_month - make_interval(months => i))::date;
    name := 'vercel_deployments_' || to_char(month_start, 'YYYY_MM');
    CONTINUE WHEN to_regclass(name) IS NOT NULL;
    EXECUTE format('CREATE TABLE %I (LIKE vercel_deployments INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name);
    EXECUTE format('ALTER TABLE vercel_deployments ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', name,
                   month_start::timestamp AT TIME ZONE 'UTC', (month_start + interval '1 month')::timestamp AT TIME ZONE 'UTC');
  END LOOP;
END $$;

CREATE TEMP TABLE scale_users AS
SELECT n, gen_random_uuid() AS id FROM generate_series(1, 100000) AS n;
INSERT INTO users (id, email) SELECT id, 'scale-' || :'tag' || '-' || n || '@example.com' FROM scale_users;

CREATE TEMP TABLE scale_connections AS
SELECT u.n, gen_random_uuid() AS id, u.id AS user_id FROM scale_users u;
INSERT INTO vercel_connections (id, user_id, account_type, access_token_sealed, token_key_id, status, token_expires_at,
  granted_scopes)
SELECT id, user_id, 'personal', 'v1.' || :'key_id' || '.aXY.Y3Q', :'key_id', 'connected', now() + interval '30 days',
  '{user:read,project:read,deployment:read}'
FROM scale_connections;

CREATE TEMP TABLE scale_projects AS
SELECT u.n, gen_random_uuid() AS id, u.id AS owner_id, c.id AS connection_id,
  (ARRAY['nextjs', 'vite', 'astro', 'remix', 'nuxtjs'])[1 + u.n % 5] AS framework
FROM scale_users u JOIN scale_connections c ON c.n = u.n WHERE u.n <= 10000;
INSERT INTO projects (id, owner_id, name) SELECT id, owner_id, 'scale-' || n FROM scale_projects;
INSERT INTO vercel_project_mappings (project_id, vercel_connection_id, vercel_project_id, framework, node_version)
SELECT id, connection_id, 'prj_scale_' || :'tag' || '_' || n, framework, '20.x' FROM scale_projects;

-- 100 deployments a project, spread over the last 360 days: most READY, some ERROR or CANCELED.
INSERT INTO vercel_deployments (deployment_id, created_at, project_id, vercel_project_id, deployment_state,
  deployment_type, ready_at, completed_at, updated_at, git_source, build_duration_ms)
SELECT 'dpl_s' || :'tag' || '_' || p.n || '_' || d,
  now() - ((d * 3.6) + (p.n % 97) / 100.0) * interval '1 day',
  p.id, 'prj_scale_' || :'tag' || '_' || p.n,
  (CASE WHEN d % 17 = 0 THEN 'ERROR' WHEN d % 29 = 0 THEN 'CANCELED' ELSE 'READY' END)::vercel_deploy_state,
  (CASE WHEN d % 4 = 0 THEN 'PRODUCTION' ELSE 'PREVIEW' END)::vercel_deploy_type,
  CASE WHEN d % 17 <> 0 AND d % 29 <> 0 THEN now() - ((d * 3.6) + (p.n % 97) / 100.0) * interval '1 day' + interval '90 seconds' END,
  now() - ((d * 3.6) + (p.n % 97) / 100.0) * interval '1 day' + interval '90 seconds',
  now() - ((d * 3.6) + (p.n % 97) / 100.0) * interval '1 day' + interval '90 seconds',
  jsonb_build_object('branch', 'main', 'commitSha', md5(p.n || '-' || d)),
  60000 + (p.n * 7 + d * 13) % 30000
FROM scale_projects p, generate_series(1, 100) AS d;

-- The partition key of each deployment id, as vercel_deployment_created_at records it.
INSERT INTO vercel_deployment_keys (deployment_id, created_at)
SELECT deployment_id, created_at FROM vercel_deployments WHERE deployment_id LIKE 'dpl_s' || :'tag' || '_%';

INSERT INTO vercel_build_metrics (project_id, deployment_id, framework, deployment_type, outcome, queue_ms,
  build_duration_ms, cache_hit, error_code, error_step, created_at, recorded_at)
SELECT d.project_id, d.deployment_id, p.framework, d.deployment_type, d.deployment_state, 1000 + (p.n + 3) % 4000,
  d.build_duration_ms, (p.n + length(d.deployment_id)) % 3 <> 0,
  CASE WHEN d.deployment_state = 'ERROR' THEN 'BUILD_FAILED' END, CASE WHEN d.deployment_state = 'ERROR' THEN 'BUILD' END,
  d.created_at, d.completed_at
FROM vercel_deployments d JOIN scale_projects p ON p.id = d.project_id
WHERE d.deployment_id LIKE 'dpl_s' || :'tag' || '_%';

-- Vacuumed and analyzed now, so autovacuum does not work through the fresh rows while routes are
-- measured; then a checkpoint, so the pages the vacuum dirtied are not written out meanwhile.
VACUUM (ANALYZE);
CHECKPOINT;
SELECT (SELECT count(*) FROM vercel_deployments) AS deployments, (SELECT count(*) FROM vercel_build_metrics) AS metrics,
  (SELECT count(*) FROM vercel_connections) AS connections, (SELECT count(*) FROM vercel_project_mappings) AS links,
  (SELECT count(*) FROM pg_inherits WHERE inhparent = 'vercel_deployments'::regclass) AS partitions;
