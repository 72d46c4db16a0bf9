-- The security audit log as a hash chain: each row carries its place (seq), the previous row's hash
-- and its own, SHA-256 over the previous hash and a canonical encoding of the row. Appends from any
-- number of processes form one chain: the trigger that links a row takes a transaction lock first,
-- so the next append waits for this one to commit and links to it. `vercel-audit verify` recomputes
-- every hash (with its own code, not this function's) and names the first row that does not fit.

-- Each field as its length in bytes, a colon and its text ('-' for NULL), joined by '|': no value
-- can pass for another. Timestamps in UTC to the microsecond; details as jsonb's own text.
CREATE FUNCTION vercel_audit_canonical(
  p_seq BIGINT, p_occurred_at TIMESTAMPTZ, p_action TEXT, p_severity TEXT, p_service TEXT, p_actor UUID,
  p_connection UUID, p_project UUID, p_details JSONB, p_correlation TEXT
) RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
  SELECT string_agg(CASE WHEN f IS NULL THEN '-' ELSE octet_length(f)::text || ':' || f END, '|' ORDER BY n)
  FROM unnest(ARRAY[
    p_seq::text, to_char(p_occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), p_action, p_severity,
    p_service, p_actor::text, p_connection::text, p_project::text, p_details::text, p_correlation
  ]) WITH ORDINALITY AS t(f, n)
$$;

CREATE FUNCTION vercel_audit_hash(p_previous TEXT, p_canonical TEXT) RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
  SELECT encode(sha256(convert_to(p_previous || '|' || p_canonical, 'UTF8')), 'hex')
$$;

ALTER TABLE vercel_security_audit_log
  ADD COLUMN seq BIGINT,
  ADD COLUMN prev_hash TEXT,
  ADD COLUMN row_hash TEXT;

-- Rows written before the chain existed are linked in their order, once.
ALTER TABLE vercel_security_audit_log DISABLE TRIGGER vercel_security_audit_log_append_only;
DO $$
DECLARE
  r RECORD;
  previous TEXT := repeat('0', 64);
  n BIGINT := 0;
BEGIN
  FOR r IN SELECT * FROM vercel_security_audit_log ORDER BY id LOOP
    n := n + 1;
    UPDATE vercel_security_audit_log SET seq = n, prev_hash = previous,
      row_hash = vercel_audit_hash(previous, vercel_audit_canonical(n, r.occurred_at, r.action, r.severity, r.service,
        r.actor_user_id, r.connection_id, r.project_id, r.details, r.correlation_id))
    WHERE id = r.id
    RETURNING row_hash INTO previous;
  END LOOP;
END $$;
ALTER TABLE vercel_security_audit_log ENABLE TRIGGER vercel_security_audit_log_append_only;

ALTER TABLE vercel_security_audit_log
  ALTER COLUMN seq SET NOT NULL,
  ALTER COLUMN prev_hash SET NOT NULL,
  ALTER COLUMN row_hash SET NOT NULL,
  ADD CONSTRAINT vercel_security_audit_log_seq_key UNIQUE (seq);

CREATE FUNCTION vercel_audit_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  head RECORD;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('sheen.vercel.audit.chain', 0));
  SELECT seq, row_hash INTO head FROM vercel_security_audit_log ORDER BY seq DESC LIMIT 1;
  NEW.seq := coalesce(head.seq, 0) + 1;
  NEW.prev_hash := coalesce(head.row_hash, repeat('0', 64));
  NEW.occurred_at := date_trunc('microseconds', coalesce(NEW.occurred_at, now()));
  NEW.row_hash := vercel_audit_hash(NEW.prev_hash, vercel_audit_canonical(NEW.seq, NEW.occurred_at, NEW.action,
    NEW.severity, NEW.service, NEW.actor_user_id, NEW.connection_id, NEW.project_id, NEW.details, NEW.correlation_id));
  RETURN NEW;
END $$;
CREATE TRIGGER vercel_security_audit_log_chain
  BEFORE INSERT ON vercel_security_audit_log
  FOR EACH ROW EXECUTE FUNCTION vercel_audit_chain();
