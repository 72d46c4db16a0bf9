-- The security audit log, break-glass requests with one approval row per approving admin, and the
-- monthly partitions of vercel_deployments (created ahead of time, never by string concatenation).

-- Append-only: rows can be added, never changed or removed.
CREATE TABLE vercel_security_audit_log (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  occurred_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  action TEXT NOT NULL CHECK (char_length(action) BETWEEN 1 AND 100),
  severity TEXT NOT NULL CHECK (severity IN ('LOW', 'MEDIUM', 'HIGH', 'CRITICAL')),
  service TEXT NOT NULL DEFAULT 'vercel',
  actor_user_id UUID,
  connection_id UUID,
  project_id UUID,
  details JSONB NOT NULL DEFAULT '{}'::JSONB,
  correlation_id TEXT
);
CREATE INDEX vercel_security_audit_log_time_idx ON vercel_security_audit_log (occurred_at DESC);
CREATE INDEX vercel_security_audit_log_action_idx ON vercel_security_audit_log (action, occurred_at DESC);

CREATE FUNCTION vercel_audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'vercel_security_audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER vercel_security_audit_log_append_only
  BEFORE UPDATE OR DELETE ON vercel_security_audit_log
  FOR EACH ROW EXECUTE FUNCTION vercel_audit_log_is_append_only();
CREATE TRIGGER vercel_security_audit_log_no_truncate
  BEFORE TRUNCATE ON vercel_security_audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION vercel_audit_log_is_append_only();

-- Access levels are spelled as the code spells them.
CREATE TABLE vercel_breakglass_requests (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  requested_by UUID NOT NULL REFERENCES users(id),
  justification TEXT NOT NULL CHECK (char_length(justification) BETWEEN 20 AND 4000),
  access_level TEXT NOT NULL CHECK (access_level IN ('READ_METADATA', 'DECRYPT_TOKENS', 'EMERGENCY_RECOVERY')),
  required_approvals INT NOT NULL CHECK (required_approvals BETWEEN 1 AND 10),
  connection_ids UUID[] NOT NULL DEFAULT '{}',
  status TEXT NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'approved', 'executed', 'expired', 'denied')),
  expires_at TIMESTAMPTZ NOT NULL,
  executed_at TIMESTAMPTZ,
  correlation_id TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  CHECK (expires_at > created_at)
);
CREATE INDEX vercel_breakglass_requests_status_idx ON vercel_breakglass_requests (status, expires_at);

-- Each approval (or denial) is its own signed request by a distinct admin, never the requester.
CREATE TABLE vercel_breakglass_approvals (
  request_id UUID NOT NULL REFERENCES vercel_breakglass_requests(id) ON DELETE CASCADE,
  approver_id UUID NOT NULL REFERENCES users(id),
  decision TEXT NOT NULL CHECK (decision IN ('approve', 'deny')),
  correlation_id TEXT,
  decided_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (request_id, approver_id)
);

CREATE FUNCTION vercel_breakglass_check_approver() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM vercel_breakglass_requests WHERE id = NEW.request_id AND requested_by = NEW.approver_id) THEN
    RAISE EXCEPTION 'a break-glass request cannot be approved by its requester' USING ERRCODE = 'check_violation';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM users WHERE id = NEW.approver_id AND role = 'admin') THEN
    RAISE EXCEPTION 'only admins approve break-glass requests' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER vercel_breakglass_approvals_check
  BEFORE INSERT OR UPDATE ON vercel_breakglass_approvals
  FOR EACH ROW EXECUTE FUNCTION vercel_breakglass_check_approver();

-- Creates the monthly partitions from this month to `p_months_ahead` months on. Rows already in the
-- DEFAULT partition for a new month's range are moved into it first (they would block ATTACH).
CREATE FUNCTION vercel_ensure_deployment_partitions(p_months_ahead INT DEFAULT 3)
RETURNS INT LANGUAGE plpgsql AS $$
DECLARE
  this_month DATE := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
  month_start DATE;
  low TIMESTAMPTZ;
  high TIMESTAMPTZ;
  partition_name TEXT;
  created INT := 0;
BEGIN
  IF p_months_ahead < 0 OR p_months_ahead > 24 THEN
    RAISE EXCEPTION 'months ahead must be 0 to 24, not %', p_months_ahead;
  END IF;
  PERFORM pg_advisory_xact_lock(hashtextextended('vercel_deployments.partitions', 0));
  FOR i IN 0..p_months_ahead LOOP
    month_start := (this_month + make_interval(months => i))::date;
    low := month_start::timestamp AT TIME ZONE 'UTC';
    high := (month_start + interval '1 month')::timestamp AT TIME ZONE 'UTC';
    partition_name := 'vercel_deployments_' || to_char(month_start, 'YYYY_MM');
    CONTINUE WHEN to_regclass(partition_name) IS NOT NULL;
    EXECUTE format('CREATE TABLE %I (LIKE vercel_deployments INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                   partition_name);
    EXECUTE format('WITH moved AS (DELETE FROM vercel_deployments_default WHERE created_at >= %L AND created_at < %L RETURNING *) '
                   'INSERT INTO %I SELECT * FROM moved', low, high, partition_name);
    EXECUTE format('ALTER TABLE vercel_deployments ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                   partition_name, low, high);
    created := created + 1;
  END LOOP;
  RETURN created;
END $$;

-- Drops the monthly partitions that end before the start of the month `p_keep_months` ago, with
-- their partition keys.
CREATE FUNCTION vercel_drop_old_deployment_partitions(p_keep_months INT DEFAULT 6)
RETURNS INT LANGUAGE plpgsql AS $$
DECLARE
  cutoff TIMESTAMPTZ := (date_trunc('month', now() AT TIME ZONE 'UTC') - make_interval(months => p_keep_months))
                        AT TIME ZONE 'UTC';
  part RECORD;
  month_start TIMESTAMPTZ;
  dropped INT := 0;
BEGIN
  IF p_keep_months < 1 THEN
    RAISE EXCEPTION 'keep at least one month, not %', p_keep_months;
  END IF;
  PERFORM pg_advisory_xact_lock(hashtextextended('vercel_deployments.partitions', 0));
  FOR part IN
    SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'vercel_deployments'::regclass AND c.relname ~ '^vercel_deployments_[0-9]{4}_[0-9]{2}$'
  LOOP
    month_start := to_date(right(part.relname, 7), 'YYYY_MM')::timestamp AT TIME ZONE 'UTC';
    CONTINUE WHEN month_start + interval '1 month' > cutoff;
    EXECUTE format('DROP TABLE %I', part.relname);
    DELETE FROM vercel_deployment_keys
      WHERE created_at >= month_start AND created_at < month_start + interval '1 month';
    dropped := dropped + 1;
  END LOOP;
  RETURN dropped;
END $$;

SELECT vercel_ensure_deployment_partitions(3);
