-- One audit append as the service makes it: the chain trigger links it to the head.
INSERT INTO vercel_security_audit_log (action, severity, actor_user_id, details, correlation_id)
VALUES ('BENCH_APPENDED', 'LOW', gen_random_uuid(), '{"bench": true}', 'bench');
