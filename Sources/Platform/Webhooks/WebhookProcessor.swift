#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Crypto
import Logging
import Postgres

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
    public func receive(_ event: WebhookEvent, body: [UInt8], correlationID: String) throws -> Outcome {
        do {
            return try record(event, body: body, correlationID: correlationID)
        } catch let error as PostgresError where !error.isConnectionFailure {
            logger.error("webhook could not be applied; queued", metadata: ["webhook.type": "\(event.type)", "error.detail": "\(error)"])
            return try database.transaction {
                let recorded = try database.query(
                    """
                    INSERT INTO vercel_webhook_dedup (event_id, event_type, deployment_id, payload_hash, correlation_id)
                    VALUES (\(event.id), \(event.type), \(event.payload.deployment.map { String($0.id.prefix(255)) }), \(Hex.encode(Digest.sha256(body))), \(correlationID))
                    ON CONFLICT DO NOTHING RETURNING id
                    """)
                guard !recorded.isEmpty else { return .duplicate }
                try enqueue(body, correlationID: correlationID)
                return .queued
            }
        }
    }

    private func record(_ event: WebhookEvent, body: [UInt8], correlationID: String) throws -> Outcome {
        let started = ContinuousClock.now
        let hash = Hex.encode(Digest.sha256(body))
        return try database.transaction {
            let recorded = try database.query(
                """
                INSERT INTO vercel_webhook_dedup (event_id, event_type, deployment_id, payload_hash, correlation_id)
                VALUES (\(event.id), \(event.type), \(event.payload.deployment?.id), \(hash), \(correlationID))
                ON CONFLICT DO NOTHING RETURNING id
                """)
            guard let row = recorded.first else { return .duplicate }
            let outcome = try apply(event, body: body, correlationID: correlationID, queueWhenUnlinked: true)
            try database.execute(
                "UPDATE vercel_webhook_dedup SET processing_ms = \(Int((ContinuousClock.now - started).milliseconds)) WHERE id = \(try row.decode("id", as: UUID.self))")
            return outcome
        }
    }

    /// Applies an event already recorded (from the queue): `.queued` means still not applicable.
    public func applyQueued(_ body: [UInt8], correlationID: String) throws -> Outcome {
        guard let event = WebhookEvent.decode(body) else { return .ignored }
        return try database.transaction { try apply(event, body: body, correlationID: correlationID, queueWhenUnlinked: false) }
    }

    private func apply(_ event: WebhookEvent, body: [UInt8], correlationID: String, queueWhenUnlinked: Bool) throws -> Outcome {
        switch event.type {
        case let type where type.hasPrefix("deployment."):
            guard let deployment = event.payload.deployment else { return .ignored }
            guard let mapping = try mapping(forVercelProject: event.payload.project?.id) else {
                if queueWhenUnlinked { try enqueue(body, correlationID: correlationID) }
                return .queued
            }
            return try applyDeployment(event, deployment, mapping: mapping, correlationID: correlationID)
        case "integration-configuration.removed":
            guard let configuration = event.payload.configuration?.id else { return .ignored }
            try ConnectionStore(database: database, keyRing: keyRing).markRevoked(configurationID: configuration, correlationID: correlationID)
            return .applied
        case "project.removed":
            guard let project = event.payload.project?.id else { return .ignored }
            try database.execute(
                """
                UPDATE vercel_project_mappings SET auto_deploy = false, metadata = metadata || '{"vercelProjectRemoved": true}', updated_at = now()
                WHERE vercel_project_id = \(project)
                """)
            return .applied
        default:
            return .ignored
        }
    }

    private struct Mapping {
        let id: UUID
        let projectID: UUID
    }

    private func mapping(forVercelProject id: String?) throws -> Mapping? {
        guard let id else { return nil }
        guard let row = try database.query(
            "SELECT id, project_id FROM vercel_project_mappings WHERE vercel_project_id = \(id) ORDER BY created_at LIMIT 1").first
        else { return nil }
        return Mapping(id: try row.decode("id"), projectID: try row.decode("project_id"))
    }

    private func enqueue(_ body: [UInt8], correlationID: String) throws {
        try database.execute(
            """
            INSERT INTO vercel_jobs (kind, payload, correlation_id, run_after)
            VALUES ('webhook.apply', jsonb_build_object('body', \(String(decoding: body, as: UTF8.self))::text), \(correlationID), now() + interval '30 seconds')
            """)
    }

    private func applyDeployment(
        _ event: WebhookEvent, _ deployment: WebhookEvent.Payload.Deployment, mapping: Mapping, correlationID: String
    ) throws -> Outcome {
        let at = Date(timeIntervalSince1970: Double(event.createdAt ?? Int64(Date().timeIntervalSince1970 * 1000)) / 1000)
        let reported = DeploymentState(webhookType: event.type)
        let type = event.payload.target == "production" ? "PRODUCTION" : "PREVIEW"
        let url = deployment.url.map { $0.hasPrefix("https://") ? $0 : "https://" + $0 }
        // The first report of a deployment decides its partition; every later one finds the same row.
        // A new row starts QUEUED and takes the reported state through the lifecycle below, so what
        // a state implies (ready_at, completed_at) is filled whatever arrives first.
        try database.execute(
            """
            INSERT INTO vercel_deployments (deployment_id, created_at, project_id, vercel_project_mapping_id, vercel_project_id,
              deployment_url, deployment_state, deployment_type, target, last_event_at, correlation_id, metadata)
            VALUES (\(deployment.id), vercel_deployment_created_at(\(deployment.id), \(at)), \(mapping.projectID), \(mapping.id),
              \(event.payload.project?.id), \(url), 'QUEUED', \(type)::vercel_deploy_type,
              \(event.payload.target), \(at), \(correlationID), '{}')
            ON CONFLICT (deployment_id, created_at) DO NOTHING
            """)
        let current = try database.query(
            """
            SELECT created_at, deployment_state::text AS state, metadata->>'queuedAt' AS queued_at FROM vercel_deployments
            WHERE deployment_id = \(deployment.id) AND created_at = (SELECT created_at FROM vercel_deployment_keys WHERE deployment_id = \(deployment.id))
            FOR UPDATE
            """)[0]
        let createdAt: Date = try current.decode("created_at")
        let stored = DeploymentState(rawValue: try current.decode("state")) ?? .queued
        if event.type == "deployment.created" {
            try database.execute(
                """
                UPDATE vercel_deployments SET metadata = metadata || jsonb_build_object('queuedAt', \(at)::timestamptz),
                  alias_urls = CASE WHEN cardinality(alias_urls) = 0 THEN \(event.payload.alias ?? []) ELSE alias_urls END
                WHERE deployment_id = \(deployment.id) AND created_at = \(createdAt) AND metadata->>'queuedAt' IS NULL
                """)
        }
        if event.type == "deployment.promoted" {
            try database.execute(
                """
                UPDATE vercel_deployments SET metadata = metadata || jsonb_build_object('promotedAt', \(at)::timestamptz),
                  deployment_type = 'PRODUCTION', last_event_at = greatest(last_event_at, \(at)), updated_at = now()
                WHERE deployment_id = \(deployment.id) AND created_at = \(createdAt)
                """)
            return .applied
        }
        guard let reported else { return .ignored }
        switch stored.decide(reported) {
        case .keep:
            try fillBuildDuration(deployment.id, createdAt)
            return .applied
        case .reject:
            try database.execute(
                """
                UPDATE vercel_deployments SET invalid_transitions = invalid_transitions + 1,
                  metadata = metadata || jsonb_build_object('lastInvalidTransition', \("\(stored.rawValue)->\(reported.rawValue)")::text)
                WHERE deployment_id = \(deployment.id) AND created_at = \(createdAt)
                """)
            logger.warning("invalid deployment transition", metadata: ["deployment.id": "\(deployment.id)", "from": "\(stored.rawValue)", "to": "\(reported.rawValue)"])
            return .rejected
        case .apply:
            let finished = reported == .ready || reported.isTerminal
            try database.execute(
                """
                UPDATE vercel_deployments SET deployment_state = \(reported.rawValue)::vercel_deploy_state, updated_at = now(),
                  last_event_at = greatest(last_event_at, \(at)),
                  ready_at = CASE WHEN \(reported == .ready) THEN \(at) ELSE ready_at END,
                  completed_at = CASE WHEN \(finished) THEN coalesce(completed_at, \(at)) ELSE completed_at END,
                  error_code = CASE WHEN \(reported == .error) THEN 'BUILD_FAILED' ELSE error_code END,
                  error_step = CASE WHEN \(reported == .error) THEN 'BUILD' ELSE error_step END,
                  deployment_url = coalesce(deployment_url, \(url))
                WHERE deployment_id = \(deployment.id) AND created_at = \(createdAt)
                """)
            try fillBuildDuration(deployment.id, createdAt)
            return .applied
        }
    }

    /// Build time from the queue to the end, once both are known (events may come in any order).
    private func fillBuildDuration(_ id: String, _ createdAt: Date) throws {
        try database.execute(
            """
            UPDATE vercel_deployments SET build_duration_ms = greatest(0,
                (extract(epoch FROM completed_at - (metadata->>'queuedAt')::timestamptz) * 1000)::int)
            WHERE deployment_id = \(id) AND created_at = \(createdAt) AND completed_at IS NOT NULL AND metadata ? 'queuedAt'
            """)
    }
}
