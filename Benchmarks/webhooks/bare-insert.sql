-- pgbench: the physical floor of one durable write per event: the event's delivery row inserted
-- alone, nothing read, nothing else written, one commit.
\set r random(1, 1000000000000)
INSERT INTO vercel_webhook_dedup (event_id, event_type, deployment_id, payload_hash, correlation_id)
VALUES ('evt_bare_' || :r || '_' || :client_id, 'deployment.created', 'dpl_bare_' || :r || '_' || :client_id,
  encode(sha256(('b' || :r || :client_id)::bytea), 'hex'), 'pgbench');
