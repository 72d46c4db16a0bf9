import Kernel
import Postgres
import Vercel

#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Each move of a project's production (`vercel_production_history`), and the aliases it moved on
/// the deployment rows.
public struct ProductionHistoryStore {
    let database: PostgresConnection

    public init(database: PostgresConnection) {
        self.database = database
    }

    /// Runs `body` as the one move of `projectID`'s production (a promotion or a rollback) on
    /// every host; nil, without running it, while another runs.
    public func moving<T>(_ projectID: UUID, _ body: () throws -> T) throws -> T? {
        try database.withAdvisoryLockIfFree("vercel.promotion:\(projectID)", body)
    }

    /// The deployment production served before the last move this service made; nil when it made none.
    public func previousOfLastMove(_ projectID: UUID) throws -> String? {
        try database.query(
            "SELECT previous_deployment_id FROM vercel_production_history WHERE project_id = \(projectID) ORDER BY id DESC LIMIT 1"
        ).first?["previous_deployment_id"]
    }

    /// The newest READY production deployment of the project other than `current`.
    public func newestReadyProduction(_ projectID: UUID, except current: String?) throws -> String? {
        try database.query(
            """
            SELECT deployment_id FROM vercel_deployments
            WHERE project_id = \(projectID) AND deployment_type = 'PRODUCTION' AND deployment_state = 'READY'
              AND ready_substate IS DISTINCT FROM 'STAGED' AND deployment_id IS DISTINCT FROM \(current)
            ORDER BY coalesce(ready_at, created_at) DESC LIMIT 1
            """
        ).first?["deployment_id"]
    }

    /// A move Vercel has made.
    public struct Move: Sendable {
        public var projectID: UUID
        public var vercelProjectID: String
        public var deploymentID: String
        public var url: String?
        public var aliases: [String]
        /// `promote` or `rollback`.
        public var action: String
        public var previousDeploymentID: String?
        /// Who asked; nil for the service's own rollback.
        public var actor: UUID?

        public init(
            projectID: UUID, vercelProjectID: String, deploymentID: String, url: String?, aliases: [String],
            action: String,
            previousDeploymentID: String?, actor: UUID?
        ) {
            self.projectID = projectID
            self.vercelProjectID = vercelProjectID
            self.deploymentID = deploymentID
            self.url = url
            self.aliases = aliases
            self.action = action
            self.previousDeploymentID = previousDeploymentID
            self.actor = actor
        }
    }

    private struct AuditDetails: Encodable {
        let deploymentId: String
        let previousDeploymentId: String?

        func encode(to encoder: any Encoder) throws {
            enum Keys: String, CodingKey { case deploymentId, previousDeploymentId }
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(deploymentId, forKey: .deploymentId)
            try container.encode(previousDeploymentId, forKey: .previousDeploymentId)
        }
    }

    /// Records `move` in one transaction: the history row, the aliases on the deployments, the audit log.
    public func record(_ move: Move) throws {
        try database.transaction {
            try database.execute(
                """
                INSERT INTO vercel_production_history (project_id, vercel_project_id, deployment_id, deployment_url, alias_urls, action,
                  previous_deployment_id, actor_user_id, correlation_id)
                VALUES (\(move.projectID), \(move.vercelProjectID), \(move.deploymentID), \(move.url),
                  \(move.aliases), \(move.action), \(move.previousDeploymentID), \(move.actor), \(Trace.requestID))
                """)
            try database.execute(
                """
                UPDATE vercel_deployments SET
                  alias_urls = CASE WHEN deployment_id = \(move.deploymentID)
                                    THEN ARRAY(SELECT DISTINCT unnest(alias_urls || \(move.aliases)::text[]))
                                    ELSE ARRAY(SELECT unnest(alias_urls) EXCEPT SELECT unnest(\(move.aliases)::text[])) END,
                  deployment_type = CASE WHEN deployment_id = \(move.deploymentID) THEN 'PRODUCTION' ELSE deployment_type END,
                  metadata = CASE WHEN deployment_id = \(move.deploymentID)
                                  THEN metadata || jsonb_build_object('promotedAt', now()) ELSE metadata END,
                  updated_at = now()
                WHERE project_id = \(move.projectID) AND (deployment_id = \(move.deploymentID) OR alias_urls && \(move.aliases)::text[])
                """)
            try SecurityAudit(database: database).record(
                move.action == "promote" ? .deploymentPromoted : .deploymentRolledBack, severity: .medium,
                actor: move.actor,
                project: move.projectID,
                details: AuditDetails(deploymentId: move.deploymentID, previousDeploymentId: move.previousDeploymentID))
        }
    }
}

/// What became of the alias job of a move Vercel was asked to make.
public enum AliasJobOutcome: Sendable {
    /// Production points at the deployment: Vercel's project as it is now.
    case done(VercelProductionState)
    case failed
    /// Not done within the wait.
    case pending
}

extension VercelClient {
    /// Waits, up to `wait`, until the project's last alias job is the one for `deploymentID` and
    /// has finished.
    public func awaitAlias(
        _ deploymentID: String, projectID: String, _ credentials: Credentials, wait: Duration = .seconds(25)
    ) throws -> AliasJobOutcome {
        let deadline = ContinuousClock.now + wait
        var pause: Duration = .milliseconds(50)
        while true {
            let state = try productionState(projectID: projectID, credentials)
            if let job = state.lastAliasRequest, job.toDeploymentId == deploymentID {
                switch job.jobStatus {
                case "succeeded", "skipped": return .done(state)
                case "failed": return .failed
                default: break
                }
            }
            guard ContinuousClock.now < deadline else { return .pending }
            usleep(useconds_t(pause.milliseconds * 1000))
            pause = min(pause * 2, .seconds(1))
        }
    }
}
