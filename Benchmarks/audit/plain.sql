-- The same row into a copy of the table without the chain: the baseline.
INSERT INTO bench_plain_audit_log (action, severity, actor_user_id, details, correlation_id)
VALUES ('BENCH_APPENDED', 'LOW', gen_random_uuid(), '{"bench": true}', 'bench');
