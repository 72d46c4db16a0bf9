-- pgbench: the transaction the webhooks function runs for one new deployment.created event
-- (WebhookProcessor.receive), statement for statement, with its values.
\set r random(1, 1000000000000)
BEGIN;
INSERT INTO vercel_webhook_dedup (event_id, event_type, deployment_id, payload_hash, correlation_id)
  VALUES ('evt_pgb_' || :r || '_' || :client_id, 'deployment.created', 'dpl_pgb_' || :r || '_' || :client_id,
          encode(sha256(('b' || :r || :client_id)::bytea), 'hex'), 'pgbench')
  ON CONFLICT DO NOTHING RETURNING id;
SELECT id, project_id FROM vercel_project_mappings WHERE vercel_project_id = :project ORDER BY created_at LIMIT 1;
INSERT INTO vercel_deployments (deployment_id, created_at, project_id, vercel_project_mapping_id, vercel_project_id,
    deployment_url, deployment_state, deployment_type, target, last_event_at, correlation_id, metadata)
  VALUES ('dpl_pgb_' || :r || '_' || :client_id, vercel_deployment_created_at('dpl_pgb_' || :r || '_' || :client_id, now()),
          :platform_project, :mapping, :project, 'https://bench.vercel.app', 'QUEUED', 'PREVIEW', NULL, now(), 'pgbench', '{}')
  ON CONFLICT (deployment_id, created_at) DO NOTHING;
SELECT created_at, deployment_state::text AS state, metadata->>'queuedAt' AS queued_at FROM vercel_deployments
  WHERE deployment_id = 'dpl_pgb_' || :r || '_' || :client_id
    AND created_at = (SELECT created_at FROM vercel_deployment_keys WHERE deployment_id = 'dpl_pgb_' || :r || '_' || :client_id)
  FOR UPDATE;
UPDATE vercel_deployments SET metadata = metadata || jsonb_build_object('queuedAt', now()),
    alias_urls = CASE WHEN cardinality(alias_urls) = 0 THEN '{}'::text[] ELSE alias_urls END
  WHERE deployment_id = 'dpl_pgb_' || :r || '_' || :client_id AND metadata->>'queuedAt' IS NULL;
UPDATE vercel_deployments SET build_duration_ms = greatest(0, (extract(epoch FROM completed_at - (metadata->>'queuedAt')::timestamptz) * 1000)::int)
  WHERE deployment_id = 'dpl_pgb_' || :r || '_' || :client_id AND completed_at IS NOT NULL AND metadata ? 'queuedAt';
UPDATE vercel_webhook_dedup SET processing_ms = 1 WHERE event_id = 'evt_pgb_' || :r || '_' || :client_id;
COMMIT;
