-- A Vercel deployment event in one round trip: `vercel_receive_deployment_event` records the
-- delivery (deduplicated), finds the project's mapping, upserts and locks the deployment, decides
-- the lifecycle move, writes what the event implies and queues the jobs it starts, all inside one
-- statement the webhooks function sends (autocommit: the statement is the transaction). Each
-- statement inside sees the rows committed before it, so the decision is taken on the locked row
-- however many events of the deployment arrive at once.
--
-- The lifecycle is DeploymentState's (Sources/Platform/Webhooks/DeploymentState.swift); a schema
-- test compares `vercel_deploy_decision` with DeploymentState.decide for every pair of states.

-- Where a state lies on the way to an end (DeploymentState.progress).
CREATE FUNCTION vercel_deploy_progress(p_state vercel_deploy_state)
RETURNS INT LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE p_state
    WHEN 'BLOCKED' THEN 0 WHEN 'QUEUED' THEN 1 WHEN 'INITIALIZING' THEN 2 WHEN 'BUILDING' THEN 3
    WHEN 'READY' THEN 4 ELSE 5 END
$$;

-- Whether a deployment may move from p_from to p_to (DeploymentState.canMove).
CREATE FUNCTION vercel_deploy_can_move(p_from vercel_deploy_state, p_to vercel_deploy_state)
RETURNS BOOLEAN LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN p_from IN ('ERROR', 'CANCELED') THEN false
    WHEN p_from = 'READY' THEN p_to = 'CANCELED'
    WHEN p_to = 'BLOCKED' THEN p_from = 'QUEUED'
    WHEN p_to IN ('ERROR', 'CANCELED') THEN true
    ELSE vercel_deploy_progress(p_to) > vercel_deploy_progress(p_from) END
$$;

-- What to do with a report of p_reported when p_stored is stored: 'apply', 'keep' (already there,
-- or a late report of an earlier step) or 'reject' (DeploymentState.decide).
CREATE FUNCTION vercel_deploy_decision(p_stored vercel_deploy_state, p_reported vercel_deploy_state)
RETURNS TEXT LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN p_reported = p_stored THEN 'keep'
    WHEN vercel_deploy_can_move(p_stored, p_reported) THEN 'apply'
    WHEN vercel_deploy_can_move(p_reported, p_stored) THEN 'keep'
    ELSE 'reject' END
$$;

-- One deployment event. p_record: a delivery as it arrives (recorded first; a duplicate changes
-- nothing; an event of a project not linked yet is queued for the retry job with p_body); false:
-- an event taken from that queue (recorded already, left queued by the caller when unlinked).
-- p_reported is the state the event's type reports (NULL for types that report none);
-- p_elapsed_ms the caller's time before the statement, added to the processing time recorded.
-- Answers one row: the outcome ('duplicate', 'queued', 'applied', 'ignored', 'rejected'), the
-- state stored before the event, the lifecycle decision ('apply', 'keep', 'reject'), and the
-- platform project and mapping it was applied to (NULL but the outcome for a duplicate or a queued
-- event).
CREATE FUNCTION vercel_receive_deployment_event(
  p_record BOOLEAN, p_event_id TEXT, p_event_type TEXT, p_payload_hash TEXT, p_correlation_id TEXT,
  p_deployment_id TEXT, p_vercel_project_id TEXT, p_url TEXT, p_target TEXT, p_alias TEXT[],
  p_at TIMESTAMPTZ, p_reported vercel_deploy_state, p_body TEXT, p_elapsed_ms INT)
RETURNS TABLE (event_outcome TEXT, previous_state TEXT, decision TEXT, platform_project UUID, project_mapping UUID)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_delivery UUID;
  v_mapping UUID;
  v_project UUID;
  v_created TIMESTAMPTZ;
  v_stored vercel_deploy_state;
  v_decision TEXT;
  v_state vercel_deploy_state;
  v_finishes BOOLEAN;
  v_new BOOLEAN;
  v_tries INT := 0;
  v_ready_at TIMESTAMPTZ;
  v_completed_at TIMESTAMPTZ;
  v_error_code TEXT;
  v_error_step TEXT;
  v_url TEXT;
  v_type vercel_deploy_type;
  v_invalid INT;
  v_alias TEXT[];
  v_metadata JSONB;
  v_duration INT;
  v_last_event TIMESTAMPTZ;
  v_queued_at TIMESTAMPTZ;
  v_is_created BOOLEAN := p_event_type = 'deployment.created';
  v_is_promoted BOOLEAN := p_event_type = 'deployment.promoted';
BEGIN
  IF p_record THEN
    INSERT INTO vercel_webhook_dedup (event_id, event_type, deployment_id, payload_hash, correlation_id)
    VALUES (p_event_id, p_event_type, p_deployment_id, p_payload_hash, p_correlation_id)
    ON CONFLICT DO NOTHING RETURNING id INTO v_delivery;
    IF v_delivery IS NULL THEN
      RETURN QUERY SELECT 'duplicate'::TEXT, NULL::TEXT, NULL::TEXT, NULL::UUID, NULL::UUID;
      RETURN;
    END IF;
  END IF;

  SELECT m.id, m.project_id INTO v_mapping, v_project
  FROM vercel_project_mappings m WHERE m.vercel_project_id = p_vercel_project_id
  ORDER BY m.created_at LIMIT 1;
  IF v_mapping IS NULL THEN
    IF p_record THEN
      INSERT INTO vercel_jobs (kind, payload, correlation_id, run_after)
      VALUES ('webhook.apply', jsonb_build_object('body', p_body), p_correlation_id, now() + interval '30 seconds');
      UPDATE vercel_webhook_dedup
      SET processing_ms = p_elapsed_ms + (extract(epoch FROM clock_timestamp() - statement_timestamp()) * 1000)::INT
      WHERE id = v_delivery;
    END IF;
    RETURN QUERY SELECT 'queued'::TEXT, NULL::TEXT, NULL::TEXT, NULL::UUID, NULL::UUID;
    RETURN;
  END IF;

  -- The first report of a deployment decides its partition (its key row); every later one reads it.
  SELECT k.created_at INTO v_created FROM vercel_deployment_keys k WHERE k.deployment_id = p_deployment_id;
  IF NOT FOUND THEN
    -- vercel_deployment_created_at, written out: a SQL function's body is parsed at every call.
    INSERT INTO vercel_deployment_keys AS k (deployment_id, created_at)
    VALUES (p_deployment_id, coalesce(p_at, now()))
    ON CONFLICT (deployment_id) DO UPDATE SET deployment_id = k.deployment_id
    RETURNING k.created_at INTO v_created;
  END IF;

  -- The row locked, or a new one: a new row starts QUEUED and takes the reported state, so what a
  -- state implies is filled whatever arrives first, and is inserted whole (one write, not an insert
  -- and an update). Two first reports at once: the one whose insert finds the other's row reads
  -- it, locked, and decides again.
  LOOP
    SELECT d.deployment_state, d.ready_at, d.completed_at, d.error_code, d.error_step, d.deployment_url,
      d.deployment_type, d.invalid_transitions, d.alias_urls, d.metadata, d.build_duration_ms, d.last_event_at
    INTO v_stored, v_ready_at, v_completed_at, v_error_code, v_error_step, v_url, v_type, v_invalid, v_alias,
      v_metadata, v_duration, v_last_event
    FROM vercel_deployments d WHERE d.deployment_id = p_deployment_id AND d.created_at = v_created
    FOR UPDATE;
    v_new := NOT FOUND;
    IF v_new THEN
      v_stored := 'QUEUED'; v_ready_at := NULL; v_completed_at := NULL; v_error_code := NULL; v_error_step := NULL;
      v_url := NULL; v_invalid := 0; v_alias := '{}'; v_metadata := '{}'; v_duration := NULL; v_last_event := p_at;
      v_type := CASE WHEN p_target = 'production' THEN 'PRODUCTION' ELSE 'PREVIEW' END;
    END IF;

    v_decision := CASE WHEN v_is_promoted OR p_reported IS NULL THEN 'keep'
                       ELSE vercel_deploy_decision(v_stored, p_reported) END;
    v_state := CASE WHEN v_decision = 'apply' THEN p_reported END;
    v_finishes := coalesce(v_state IN ('READY', 'ERROR', 'CANCELED'), false);

    -- What the event implies, from the row as it was.
    v_queued_at := coalesce((v_metadata->>'queuedAt')::TIMESTAMPTZ, CASE WHEN v_is_created THEN p_at END);
    IF v_finishes THEN v_completed_at := coalesce(v_completed_at, p_at); END IF;
    IF v_state = 'READY' THEN v_ready_at := p_at; END IF;
    IF v_state = 'ERROR' THEN v_error_code := 'BUILD_FAILED'; v_error_step := 'BUILD'; END IF;
    v_url := coalesce(v_url, p_url);
    IF v_is_promoted THEN v_type := 'PRODUCTION'; END IF;
    IF v_decision = 'reject' THEN v_invalid := v_invalid + 1; END IF;
    IF v_is_created AND cardinality(v_alias) = 0 THEN v_alias := coalesce(p_alias, '{}'); END IF;
    v_metadata := v_metadata
      || CASE WHEN v_is_created AND NOT v_metadata ? 'queuedAt' THEN jsonb_build_object('queuedAt', p_at) ELSE '{}' END
      || CASE WHEN v_is_promoted THEN jsonb_build_object('promotedAt', p_at) ELSE '{}' END
      || CASE WHEN v_decision = 'reject'
           THEN jsonb_build_object('lastInvalidTransition', v_stored::TEXT || '->' || coalesce(p_reported::TEXT, ''))
           ELSE '{}' END;
    IF v_duration IS NULL AND v_completed_at IS NOT NULL AND v_queued_at IS NOT NULL THEN
      v_duration := greatest(0, (extract(epoch FROM v_completed_at - v_queued_at) * 1000)::INT);
    END IF;
    v_last_event := greatest(v_last_event, p_at);

    IF NOT v_new THEN
      UPDATE vercel_deployments AS d SET
        deployment_state = coalesce(v_state, d.deployment_state), ready_at = v_ready_at, completed_at = v_completed_at,
        error_code = v_error_code, error_step = v_error_step, deployment_url = v_url, deployment_type = v_type,
        invalid_transitions = v_invalid, alias_urls = v_alias, metadata = v_metadata, build_duration_ms = v_duration,
        last_event_at = v_last_event, updated_at = now()
      WHERE d.deployment_id = p_deployment_id AND d.created_at = v_created;
      EXIT;
    END IF;
    INSERT INTO vercel_deployments (deployment_id, created_at, project_id, vercel_project_mapping_id, vercel_project_id,
      deployment_url, deployment_state, deployment_type, target, ready_at, completed_at, error_code, error_step,
      invalid_transitions, alias_urls, metadata, build_duration_ms, last_event_at, correlation_id)
    VALUES (p_deployment_id, v_created, v_project, v_mapping, p_vercel_project_id,
      v_url, coalesce(v_state, 'QUEUED'), v_type, p_target, v_ready_at, v_completed_at, v_error_code, v_error_step,
      v_invalid, v_alias, v_metadata, v_duration, v_last_event, p_correlation_id)
    ON CONFLICT (deployment_id, created_at) DO NOTHING;
    EXIT WHEN FOUND;
    v_tries := v_tries + 1;
    IF v_tries > 3 THEN
      RAISE EXCEPTION 'deployment % neither found nor inserted', p_deployment_id;
    END IF;
  END LOOP;

  IF v_finishes THEN
    -- A build that ends here is read from Vercel once more, for why and how it ended
    -- (DeploymentStore.finalizeKind).
    INSERT INTO vercel_jobs (kind, payload, dedup_key)
    VALUES ('deployment.finalize', jsonb_build_object('deploymentId', p_deployment_id, 'projectId', v_project::TEXT),
      p_deployment_id)
    ON CONFLICT DO NOTHING;
  ELSIF v_is_created
    AND NOT EXISTS (SELECT 1 FROM vercel_deployment_checks c WHERE c.deployment_id = p_deployment_id)
    AND NOT EXISTS (SELECT 1 FROM vercel_smoke_check_settings s WHERE s.vercel_project_mapping_id = v_mapping AND NOT s.enabled)
  THEN
    -- A new deployment gets its blocking check while it builds (once: the deploy paths register
    -- theirs at once, and a registration done is not done again) (DeploymentCheckStore.jobKind).
    INSERT INTO vercel_jobs (kind, payload, dedup_key)
    VALUES ('deployment.check', jsonb_build_object('action', 'register', 'deploymentId', p_deployment_id,
      'projectId', v_project::TEXT), 'register:' || p_deployment_id)
    ON CONFLICT DO NOTHING;
  END IF;

  IF p_event_type = 'deployment.check-rerequested' THEN
    -- Someone asked Vercel to rerun the check (its dashboard's button): reopened, its run queued.
    WITH rerequested AS (
      UPDATE vercel_deployment_checks c SET status = 'registered', updated_at = now()
      WHERE c.deployment_id = p_deployment_id AND c.project_id = v_project AND c.status = 'completed'
        AND c.vercel_check_id IS NOT NULL
      RETURNING c.deployment_id)
    INSERT INTO vercel_jobs (kind, payload, dedup_key)
    SELECT 'deployment.check', jsonb_build_object('action', 'run', 'deploymentId', r.deployment_id,
      'projectId', v_project::TEXT), 'run:' || r.deployment_id
    FROM rerequested r
    ON CONFLICT DO NOTHING;
  END IF;

  IF p_record THEN
    UPDATE vercel_webhook_dedup
    SET processing_ms = p_elapsed_ms + (extract(epoch FROM clock_timestamp() - statement_timestamp()) * 1000)::INT
    WHERE id = v_delivery;
  END IF;

  RETURN QUERY SELECT
    CASE WHEN v_decision = 'reject' THEN 'rejected'
         WHEN p_reported IS NULL AND NOT v_is_promoted THEN 'ignored'
         ELSE 'applied' END,
    v_stored::TEXT, v_decision, v_project, v_mapping;
END
$$;
