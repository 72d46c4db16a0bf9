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
        let started = ContinuousClock.now
        do {
            if let deployment = event.deploymentEvent {
                return try receiveDeployment(event, deployment, body: body, recording: true, started: started)
            }
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

    /// An event of another kind than a deployment's, in one transaction: the delivery recorded,
    /// the change it implies, the processing time.
    private func record(_ event: WebhookEvent, body: [UInt8]) throws -> Outcome {
        let started = ContinuousClock.now
        let hash = Hex.encode(Digest.sha256(body))
        return try database.transaction {
            let recorded = try database.query(
                """
                INSERT INTO vercel_webhook_dedup (event_id, event_type, deployment_id, payload_hash, correlation_id)
                VALUES (\(event.id), \(event.type), \(event.payload.deployment?.id), \(hash), \(Trace.requestID))
                ON CONFLICT DO NOTHING RETURNING id
                """)
            guard let row = recorded.first else { return .duplicate }
            return try apply(event, finished: Finish(delivery: try row.decode("id"), started: started))
        }
    }

    /// Applies an event already recorded (from the queue): `.queued` means still not applicable.
    public func applyQueued(_ body: [UInt8]) throws -> Outcome {
        guard let event = WebhookEvent.decode(body) else { return .ignored }
        if let deployment = event.deploymentEvent {
            return try receiveDeployment(event, deployment, body: body, recording: false, started: .now)
        }
        return try database.transaction { try apply(event, finished: nil) }
    }

    /// The delivery whose processing time the last statement records.
    private struct Finish {
        let delivery: UUID
        let started: ContinuousClock.Instant

        var milliseconds: Int { Int((ContinuousClock.now - started).milliseconds) }
    }

    /// An event that is not a deployment's (one without a deployment is ignored).
    private func apply(_ event: WebhookEvent, finished: Finish?) throws -> Outcome {
        let outcome: Outcome
        switch event.type {
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

    private func enqueue(_ body: [UInt8]) throws {
        try database.execute(
            """
            INSERT INTO vercel_jobs (kind, payload, correlation_id, run_after)
            VALUES ('webhook.apply', jsonb_build_object('body', \(String(decoding: body, as: UTF8.self))::text), \(Trace.requestID), now() + interval '30 seconds')
            """)
    }

    /// What `vercel_receive_deployment_event` answered.
    private struct Received {
        let outcome: Outcome
        let previous: DeploymentState?
        let decision: String?
        let mapping: Mapping?
    }

    /// A deployment event in one statement, `vercel_receive_deployment_event` (migration 113): the
    /// delivery recorded and deduplicated, the mapping found, the deployment upserted and locked, the
    /// move decided on the locked row and written, the jobs it starts queued, the processing time.
    /// Sent alone it is its own transaction; only an event that implies more (a production
    /// deployment that failed pages its owner, a promotion starts the new production's watch) runs
    /// it in a transaction with that.
    private func receiveDeployment(
        _ event: WebhookEvent, _ deployment: WebhookEvent.Payload.Deployment, body: [UInt8], recording: Bool,
        started: ContinuousClock.Instant
    ) throws -> Outcome {
        let reported = DeploymentState(webhookType: event.type)
        let pages = reported == .error && event.payload.target == "production"
        let promoted = event.type == "deployment.promoted"
        guard pages || promoted else {
            return try report(receiveStatement(event, deployment, reported, body, recording, started), event, reported)
        }
        return try database.transaction {
            let received = try receiveStatement(event, deployment, reported, body, recording, started)
            if let mapping = received.mapping {
                if pages, received.decision == "apply" {
                    try alertProductionFailure(deployment, mapping: mapping)
                }
                if promoted {
                    // Production moved at Vercel (its dashboard, its CLI, this service's own
                    // promotion): the new production is watched, the watch of the one before ends.
                    try ProductionWatchStore(database: database).start(
                        deployment.id, projectID: mapping.projectID, mappingID: mapping.id, previous: nil)
                }
            }
            return report(received, event, reported)
        }
    }

    private func receiveStatement(
        _ event: WebhookEvent, _ deployment: WebhookEvent.Payload.Deployment, _ reported: DeploymentState?,
        _ body: [UInt8], _ recording: Bool, _ started: ContinuousClock.Instant
    ) throws -> Received {
        let at = event.createdAt.flatMap(VercelTime.date(milliseconds:)) ?? Date()
        let url = deployment.url.map { $0.hasPrefix("https://") ? $0 : "https://" + $0 }
        let hash = recording ? Hex.encode(Digest.sha256(body)) : nil
        let queuedBody = recording ? String(decoding: body, as: UTF8.self) : nil
        let elapsed = Int((ContinuousClock.now - started).milliseconds)
        let row = try database.query(
            """
            SELECT event_outcome, previous_state, decision, platform_project, project_mapping
            FROM vercel_receive_deployment_event(\(recording), \(event.id), \(event.type), \(hash), \(Trace.requestID),
              \(deployment.id), \(event.payload.project?.id), \(url), \(event.payload.target), \(event.payload.alias ?? []),
              \(at), \(reported?.rawValue)::vercel_deploy_state, \(queuedBody), \(elapsed))
            """)[0]
        let outcome = Outcome(rawValue: try row.decode("event_outcome")) ?? .ignored
        let mapping = try row.decodeIfPresent("project_mapping", as: UUID.self).map {
            Mapping(id: $0, projectID: try row.decode("platform_project"))
        }
        return Received(
            outcome: outcome,
            previous: try row.decodeIfPresent("previous_state", as: String.self).flatMap(
                DeploymentState.init(rawValue:)),
            decision: try row.decodeIfPresent("decision", as: String.self), mapping: mapping)
    }

    /// Logs a move the lifecycle refused; answers the outcome.
    private func report(_ received: Received, _ event: WebhookEvent, _ reported: DeploymentState?) -> Outcome {
        if received.outcome == .rejected {
            logger.warning(
                "invalid deployment transition",
                metadata: [
                    "deployment.id": "\(event.payload.deployment?.id ?? "-")",
                    "from": "\(received.previous?.rawValue ?? "-")", "to": "\(reported?.rawValue ?? "-")",
                ])
        }
        return received.outcome
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
