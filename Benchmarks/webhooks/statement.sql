-- pgbench: the one statement the webhooks function sends for a new deployment.created event
-- (WebhookProcessor.receiveStatement), with the values it binds: the event's body is bound too,
-- as the function binds it, though a linked project's event does not queue it.
\set r random(1, 1000000000000)
SELECT event_outcome, previous_state, decision, platform_project, project_mapping
FROM vercel_receive_deployment_event(true, 'evt_pgb_' || :r || '_' || :client_id, 'deployment.created',
  encode(sha256(('b' || :r || :client_id)::bytea), 'hex'), 'pgbench', 'dpl_pgb_' || :r || '_' || :client_id,
  :project, 'https://bench.vercel.app', NULL, '{}', now(), 'QUEUED'::vercel_deploy_state,
  jsonb_build_object('createdAt', 1790000000000, 'id', 'evt_pgb_' || :r || '_' || :client_id,
    'payload', jsonb_build_object('deployment', jsonb_build_object('id', 'dpl_pgb_' || :r || '_' || :client_id,
      'meta', '{}'::jsonb, 'name', 'bench', 'url', 'bench.vercel.app'), 'project', jsonb_build_object('id', (:project)::text),
      'target', NULL), 'region', 'iad1', 'type', 'deployment.created')::text,
  0);
