-- pgbench: the transaction the webhooks function runs for one new deployment.created event
-- (WebhookProcessor.record), statement for statement, with the values it binds.
\set r random(1, 1000000000000)
BEGIN;
WITH delivery AS (
  INSERT INTO vercel_webhook_dedup (event_id, event_type, deployment_id, payload_hash, correlation_id)
  VALUES ('evt_pgb_' || :r || '_' || :client_id, 'deployment.created', 'dpl_pgb_' || :r || '_' || :client_id,
          encode(sha256(('b' || :r || :client_id)::bytea), 'hex'), 'pgbench')
  ON CONFLICT DO NOTHING RETURNING id)
SELECT delivery.id AS delivery_id, mapping.id AS mapping_id, mapping.project_id
FROM delivery LEFT JOIN LATERAL (
  SELECT id, project_id FROM vercel_project_mappings WHERE vercel_project_id = :project ORDER BY created_at LIMIT 1) mapping ON true
\gset
INSERT INTO vercel_deployments (deployment_id, created_at, project_id, vercel_project_mapping_id, vercel_project_id,
    deployment_url, deployment_state, deployment_type, target, last_event_at, correlation_id, metadata)
  VALUES ('dpl_pgb_' || :r || '_' || :client_id, vercel_deployment_created_at('dpl_pgb_' || :r || '_' || :client_id, now()),
          :platform_project, :mapping, :project, 'https://bench.vercel.app', 'QUEUED', 'PREVIEW', NULL, now(), 'pgbench', '{}')
  ON CONFLICT (deployment_id, created_at) DO UPDATE SET deployment_id = EXCLUDED.deployment_id
  RETURNING created_at, deployment_state::text AS state
\gset
WITH changed AS (
  UPDATE vercel_deployments SET
    deployment_state = coalesce(NULL::vercel_deploy_state, deployment_state),
    ready_at = CASE WHEN false THEN now() ELSE ready_at END,
    completed_at = CASE WHEN false THEN coalesce(completed_at, now()) ELSE completed_at END,
    error_code = CASE WHEN false THEN 'BUILD_FAILED' ELSE error_code END,
    error_step = CASE WHEN false THEN 'BUILD' ELSE error_step END,
    deployment_url = coalesce(deployment_url, 'https://bench.vercel.app'),
    deployment_type = CASE WHEN false THEN 'PRODUCTION' ELSE deployment_type END,
    invalid_transitions = invalid_transitions + CASE WHEN false THEN 1 ELSE 0 END,
    alias_urls = CASE WHEN true AND cardinality(alias_urls) = 0 THEN '{}'::text[] ELSE alias_urls END,
    metadata = metadata
      || CASE WHEN true AND NOT metadata ? 'queuedAt' THEN jsonb_build_object('queuedAt', now()) ELSE '{}' END
      || CASE WHEN false THEN jsonb_build_object('promotedAt', now()) ELSE '{}' END
      || CASE WHEN false THEN jsonb_build_object('lastInvalidTransition', 'x'::text) ELSE '{}' END,
    build_duration_ms = coalesce(build_duration_ms, CASE
      WHEN (CASE WHEN false THEN coalesce(completed_at, now()) ELSE completed_at END) IS NULL THEN NULL
      WHEN coalesce((metadata->>'queuedAt')::timestamptz, CASE WHEN true THEN now() END) IS NULL THEN NULL
      ELSE greatest(0, (extract(epoch FROM completed_at - coalesce((metadata->>'queuedAt')::timestamptz, now())) * 1000)::int)
      END),
    last_event_at = greatest(last_event_at, now()),
    updated_at = now()
  WHERE deployment_id = 'dpl_pgb_' || :r || '_' || :client_id AND created_at = :created_at
  RETURNING 1)
UPDATE vercel_webhook_dedup SET processing_ms = 1 WHERE id = :delivery_id AND EXISTS (SELECT 1 FROM changed);
COMMIT;
