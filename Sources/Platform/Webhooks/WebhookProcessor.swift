import Crypto
import Kernel
import Logging
import Postgres
import Vercel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Applies Vercel webhook events to the database. The route and the retry job share it; each
/// call is one transaction, so an event is applied wholly or not at all.
public struct WebhookProcessor {
    let database: PostgresConnection
    let keyRing: KeyRing
    let logger: Logger

    public init(database: PostgresConnection, keyRing: KeyRing, logger: Logger) {
        self.database = database
        self.keyRing = keyRing
        self.logger = logger
    }

    public enum Outcome: String, Sendable {
        case applied
        case duplicate
        /// Stored in the job queue, to be applied later (its project is not linked yet).
        case queued
        /// A lifecycle move that is not allowed: counted on the deployment, not applied.
        case rejected
        /// Stored and acknowledged; nothing to change for this type.
        case ignored
    }

    /// Records the delivery (deduplicated) and applies it. When applying fails on the database's
    /// side (a constraint, a bug), the event is recorded and queued for the retry job instead, so
    /// it is never lost; only an unreachable database makes this throw.
    public func receive(_ event: WebhookEvent, body: [UInt8]) throws -> Outcome {
        do {
            return try record(event, body: body)
        } catch let error as PostgresError where !error.isConnectionFailure {
            logger.error(
                "webhook could not be applied; queued",
                metadata: ["webhook.type": "\(event.type)", "error.detail": "\(error)"])
            return try database.transaction {
                let recorded = try database.query(
                    """
                    INSERT INTO vercel_webhook_dedup (event_id, event_type, deployment_id, payload_hash, correlation_id)
                    VALUES (\(event.id), \(event.type), \(event.payload.deployment.map { String($0.id.prefix(255)) }), \(Hex.encode(Digest.sha256(body))), \(Trace.requestID))
                    ON CONFLICT DO NOTHING RETURNING id
                    """)
                guard !recorded.isEmpty else { return .duplicate }
                try enqueue(body)
                return .queued
            }
        }
    }

    /// One transaction of four statements for a deployment event: the delivery recorded (with the
    /// project mapping looked up alongside), the deployment row upserted and locked, the change
    /// decided here and written with the processing time, and the commit.
    private func record(_ event: WebhookEvent, body: [UInt8]) throws -> Outcome {
        let started = ContinuousClock.now
        let hash = Hex.encode(Digest.sha256(body))
        return try database.transaction {
            let recorded = try database.query(
                """
                WITH delivery AS (
                  INSERT INTO vercel_webhook_dedup (event_id, event_type, deployment_id, payload_hash, correlation_id)
                  VALUES (\(event.id), \(event.type), \(event.payload.deployment?.id), \(hash), \(Trace.requestID))
                  ON CONFLICT DO NOTHING RETURNING id)
                SELECT delivery.id AS delivery_id, mapping.id AS mapping_id, mapping.project_id
                FROM delivery LEFT JOIN LATERAL (
                  SELECT id, project_id FROM vercel_project_mappings WHERE vercel_project_id = \(event.payload.project?.id)
                  ORDER BY created_at LIMIT 1) mapping ON true
                """)
            guard let row = recorded.first else { return .duplicate }
            let delivery: UUID = try row.decode("delivery_id")
            let mapping = try row.decodeIfPresent("mapping_id", as: UUID.self).map {
                Mapping(id: $0, projectID: try row.decode("project_id"))
            }
            return try apply(
                event, body: body, mapping: mapping, queueWhenUnlinked: true,
                finished: Finish(delivery: delivery, started: started))
        }
    }

    /// Applies an event already recorded (from the queue): `.queued` means still not applicable.
    public func applyQueued(_ body: [UInt8]) throws -> Outcome {
        guard let event = WebhookEvent.decode(body) else { return .ignored }
        return try database.transaction {
            try apply(
                event, body: body, mapping: try mapping(forVercelProject: event.payload.project?.id),
                queueWhenUnlinked: false, finished: nil)
        }
    }

    /// The delivery whose processing time the last statement records.
    private struct Finish {
        let delivery: UUID
        let started: ContinuousClock.Instant

        var milliseconds: Int { Int((ContinuousClock.now - started).milliseconds) }
    }

    private func apply(
        _ event: WebhookEvent, body: [UInt8], mapping: Mapping?, queueWhenUnlinked: Bool,
        finished: Finish?
    ) throws -> Outcome {
        let outcome: Outcome
        switch event.type {
        case let type where type.hasPrefix("deployment."):
            guard let deployment = event.payload.deployment else {
                outcome = .ignored
                break
            }
            guard let mapping else {
                if queueWhenUnlinked { try enqueue(body) }
                outcome = .queued
                break
            }
            return try applyDeployment(
                event, deployment, mapping: mapping, finished: finished)
        case "integration-configuration.removed":
            guard let configuration = event.payload.configuration?.id else {
                outcome = .ignored
                break
            }
            try ConnectionStore(database: database, keyRing: keyRing).markRevoked(
                configurationID: configuration)
            outcome = .applied
        case "integration-configuration.permission-upgraded":
            guard let configuration = event.payload.configuration?.id, let change = event.payload.scopes else {
                outcome = .ignored
                break
            }
            let granted = VercelPermission.parse((change.added ?? []) + (change.upgraded ?? []))
            try ConnectionStore(database: database, keyRing: keyRing).grant(
                granted, configurationID: configuration)
            outcome = .applied
        case "project.removed":
            guard let project = event.payload.project?.id else {
                outcome = .ignored
                break
            }
            try database.execute(
                """
                UPDATE vercel_project_mappings SET auto_deploy = false, metadata = metadata || '{"vercelProjectRemoved": true}', updated_at = now()
                WHERE vercel_project_id = \(project)
                """)
            outcome = .applied
        default:
            outcome = .ignored
        }
        if let finished {
            try database.execute(
                "UPDATE vercel_webhook_dedup SET processing_ms = \(finished.milliseconds) WHERE id = \(finished.delivery)"
            )
        }
        return outcome
    }

    private struct Mapping {
        let id: UUID
        let projectID: UUID
    }

    private func mapping(forVercelProject id: String?) throws -> Mapping? {
        guard let id else { return nil }
        guard
            let row = try database.query(
                "SELECT id, project_id FROM vercel_project_mappings WHERE vercel_project_id = \(id) ORDER BY created_at LIMIT 1"
            ).first
        else { return nil }
        return Mapping(id: try row.decode("id"), projectID: try row.decode("project_id"))
    }

    private func enqueue(_ body: [UInt8]) throws {
        try database.execute(
            """
            INSERT INTO vercel_jobs (kind, payload, correlation_id, run_after)
            VALUES ('webhook.apply', jsonb_build_object('body', \(String(decoding: body, as: UTF8.self))::text), \(Trace.requestID), now() + interval '30 seconds')
            """)
    }

    private func applyDeployment(
        _ event: WebhookEvent, _ deployment: WebhookEvent.Payload.Deployment, mapping: Mapping,
        finished: Finish?
    ) throws -> Outcome {
        let at = event.createdAt.flatMap(VercelTime.date(milliseconds:)) ?? Date()
        let reported = DeploymentState(webhookType: event.type)
        let type = event.payload.target == "production" ? "PRODUCTION" : "PREVIEW"
        let url = deployment.url.map { $0.hasPrefix("https://") ? $0 : "https://" + $0 }
        // The first report of a deployment decides its partition; every later one finds the same row,
        // locked by the no-op update. A new row starts QUEUED and takes the reported state through
        // the lifecycle below, so what a state implies is filled whatever arrives first.
        let row = try database.query(
            """
            INSERT INTO vercel_deployments (deployment_id, created_at, project_id, vercel_project_mapping_id, vercel_project_id,
              deployment_url, deployment_state, deployment_type, target, last_event_at, correlation_id, metadata)
            VALUES (\(deployment.id), vercel_deployment_created_at(\(deployment.id), \(at)), \(mapping.projectID), \(mapping.id),
              \(event.payload.project?.id), \(url), 'QUEUED', \(type)::vercel_deploy_type, \(event.payload.target), \(at), \(Trace.requestID), '{}')
            ON CONFLICT (deployment_id, created_at) DO UPDATE SET deployment_id = EXCLUDED.deployment_id
            RETURNING created_at, deployment_state::text AS state
            """)[0]
        let createdAt: Date = try row.decode("created_at")
        let stored = DeploymentState(rawValue: try row.decode("state")) ?? .queued
        let decision: DeploymentState.Decision
        if event.type == "deployment.promoted" {
            decision = .keep
        } else if let reported {
            decision = stored.decide(reported)
        } else {
            decision = .keep
        }
        let state = decision == .apply ? reported : nil
        let finishes = state?.isBuildOver == true
        // One statement writes everything the event implies; SET reads the row as it was, so the
        // new completion and queue times are spelled out where the build duration needs them.
        try database.execute(
            """
            WITH changed AS (
              UPDATE vercel_deployments SET
                deployment_state = coalesce(\(state?.rawValue)::vercel_deploy_state, deployment_state),
                ready_at = CASE WHEN \(state == .ready) THEN \(at) ELSE ready_at END,
                completed_at = CASE WHEN \(finishes) THEN coalesce(completed_at, \(at)) ELSE completed_at END,
                error_code = CASE WHEN \(state == .error) THEN 'BUILD_FAILED' ELSE error_code END,
                error_step = CASE WHEN \(state == .error) THEN 'BUILD' ELSE error_step END,
                deployment_url = coalesce(deployment_url, \(url)),
                deployment_type = CASE WHEN \(event.type == "deployment.promoted") THEN 'PRODUCTION' ELSE deployment_type END,
                invalid_transitions = invalid_transitions + CASE WHEN \(decision == .reject) THEN 1 ELSE 0 END,
                alias_urls = CASE WHEN \(event.type == "deployment.created") AND cardinality(alias_urls) = 0 THEN \(event.payload.alias ?? []) ELSE alias_urls END,
                metadata = metadata
                  || CASE WHEN \(event.type == "deployment.created") AND NOT metadata ? 'queuedAt' THEN jsonb_build_object('queuedAt', \(at)::timestamptz) ELSE '{}' END
                  || CASE WHEN \(event.type == "deployment.promoted") THEN jsonb_build_object('promotedAt', \(at)::timestamptz) ELSE '{}' END
                  || CASE WHEN \(decision == .reject) THEN jsonb_build_object('lastInvalidTransition', \("\(stored.rawValue)->\(reported?.rawValue ?? "")")::text) ELSE '{}' END,
                build_duration_ms = coalesce(build_duration_ms, CASE
                  WHEN (CASE WHEN \(finishes) THEN coalesce(completed_at, \(at)) ELSE completed_at END) IS NULL THEN NULL
                  WHEN coalesce((metadata->>'queuedAt')::timestamptz, CASE WHEN \(event.type == "deployment.created") THEN \(at)::timestamptz END) IS NULL THEN NULL
                  ELSE greatest(0, (extract(epoch FROM
                    (CASE WHEN \(finishes) THEN coalesce(completed_at, \(at)) ELSE completed_at END)
                    - coalesce((metadata->>'queuedAt')::timestamptz, CASE WHEN \(event.type == "deployment.created") THEN \(at)::timestamptz END)) * 1000)::int)
                  END),
                last_event_at = greatest(last_event_at, \(at)),
                updated_at = now()
              WHERE deployment_id = \(deployment.id) AND created_at = \(createdAt)
              RETURNING 1),
            finalize AS (
              -- A build that ends here is read from Vercel once more, for why and how it ended.
              INSERT INTO vercel_jobs (kind, payload, dedup_key)
              SELECT \(DeploymentStore.finalizeKind), jsonb_build_object('deploymentId', \(deployment.id)::text,
                'projectId', \(mapping.projectID)::text), \(deployment.id)
              WHERE \(finishes) AND EXISTS (SELECT 1 FROM changed)
              ON CONFLICT DO NOTHING),
            checked AS (
              -- A new deployment gets its blocking check while it builds (once: the deploy paths
              -- register theirs at once, and a registration done is not done again).
              INSERT INTO vercel_jobs (kind, payload, dedup_key)
              SELECT \(DeploymentCheckStore.jobKind), jsonb_build_object('action', 'register',
                'deploymentId', \(deployment.id)::text, 'projectId', \(mapping.projectID)::text), 'register:' || \(deployment.id)::text
              WHERE \(event.type == "deployment.created") AND \(!finishes) AND EXISTS (SELECT 1 FROM changed)
                AND NOT EXISTS (SELECT 1 FROM vercel_deployment_checks WHERE deployment_id = \(deployment.id))
                AND NOT EXISTS (SELECT 1 FROM vercel_smoke_check_settings WHERE vercel_project_mapping_id = \(mapping.id) AND NOT enabled)
              ON CONFLICT DO NOTHING),
            rerequested AS (
              -- Someone asked Vercel to rerun the check (its dashboard's button): reopened, its run queued.
              UPDATE vercel_deployment_checks SET status = 'registered', updated_at = now()
              WHERE \(event.type == "deployment.check-rerequested") AND deployment_id = \(deployment.id)
                AND project_id = \(mapping.projectID) AND status = 'completed' AND vercel_check_id IS NOT NULL
              RETURNING deployment_id),
            rerun AS (
              INSERT INTO vercel_jobs (kind, payload, dedup_key)
              SELECT \(DeploymentCheckStore.jobKind), jsonb_build_object('action', 'run', 'deploymentId', deployment_id,
                'projectId', \(mapping.projectID)::text), 'run:' || deployment_id
              FROM rerequested
              ON CONFLICT DO NOTHING)
            UPDATE vercel_webhook_dedup SET processing_ms = \(finished?.milliseconds) WHERE id = \(finished?.delivery) AND EXISTS (SELECT 1 FROM changed)
            """)
        if state == .error, event.payload.target == "production" {
            try alertProductionFailure(deployment, mapping: mapping)
        }
        if event.type == "deployment.promoted" {
            // Production moved at Vercel (its dashboard, its CLI, this service's own promotion):
            // the new production is watched, the watch of the one before ends.
            try ProductionWatchStore(database: database).start(
                deployment.id, projectID: mapping.projectID, mappingID: mapping.id, previous: nil)
        }
        switch decision {
        case .reject:
            logger.warning(
                "invalid deployment transition",
                metadata: [
                    "deployment.id": "\(deployment.id)", "from": "\(stored.rawValue)",
                    "to": "\(reported?.rawValue ?? "-")",
                ])
            return .rejected
        case .apply, .keep:
            return reported == nil && event.type != "deployment.promoted" ? .ignored : .applied
        }
    }

    private struct FailedDeployment: Encodable {
        let deploymentId: String
        let url: String?
        let vercelProjectId: String?
    }

    /// A production deployment that failed pages its project's owner.
    private func alertProductionFailure(
        _ deployment: WebhookEvent.Payload.Deployment, mapping: Mapping
    ) throws {
        let owner: UUID? = try database.query("SELECT owner_id FROM projects WHERE id = \(mapping.projectID)").first?
            .decode("owner_id")
        try AlertOutbox(database: database).enqueue(
            "deployment.failed", severity: .critical, userID: owner, projectID: mapping.projectID,
            data: FailedDeployment(deploymentId: deployment.id, url: deployment.url, vercelProjectId: nil),
            dedupKey: "deployment.failed:\(deployment.id)")
    }
}
