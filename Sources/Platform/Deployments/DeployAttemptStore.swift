import Postgres
import Vercel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Deployments being made at Vercel and not yet recorded (`vercel_deploy_attempts`). An attempt
/// is begun under the link's lock, named in the deployment's `meta` (`metaKey`), and ended by the
/// statement that records the deployment; one left over is an orphan's trace for
/// `vercel-job-deployment-sync`.
public struct DeployAttemptStore {
    let database: PostgresConnection

    public init(database: PostgresConnection) { self.database = database }

    /// The key of a deployment's `meta` that holds its attempt's id.
    public static let metaKey = "sheenAttemptId"

    public struct Attempt: Sendable, Equatable {
        public let id: UUID
        public let projectID: UUID
        public let connectionID: UUID
        public let vercelProjectID: String
        public let production: Bool
        public let createdBy: UUID
        public let startedAt: Date

        public var metaValue: String { id.uuidString.lowercased() }
    }

    static let columns: SQL =
        "id, project_id, vercel_connection_id, vercel_project_id, production, created_by, started_at"

    /// Begins an attempt for `project`'s link as it was read, in the one statement that sees the
    /// link is still there; nil when it is not.
    public func begin(_ project: LinkedProject, production: Bool, createdBy: UUID) throws -> Attempt? {
        try database.query(
            """
            INSERT INTO vercel_deploy_attempts (project_id, vercel_connection_id, vercel_project_id, production, created_by)
            SELECT project_id, vercel_connection_id, vercel_project_id, \(production), \(createdBy)
            FROM vercel_project_mappings
            WHERE id = \(project.mappingID) AND project_id = \(project.projectID) AND vercel_project_id = \(project.vercelProjectID)
            RETURNING \(fragment: Self.columns)
            """
        ).first.map(Self.attempt)
    }

    /// What an idempotency key named, or the attempt begun because it named nothing.
    public enum Begun: Sendable, Equatable {
        /// The key named this deployment before, for the request with this fingerprint.
        case named(deploymentID: String, fingerprint: String)
        /// The key named nothing and the attempt is begun.
        case begun(Attempt)
        /// The key named nothing and the project's link is gone.
        case unlinked
    }

    /// Reads what `key` named for `project` before and, when it named nothing, begins the attempt
    /// for its link as it was read: one statement, run while the key's lock is held so that no
    /// other request with the key is between the reading and the beginning.
    public func begin(
        _ project: LinkedProject, production: Bool, createdBy: UUID, unlessKey key: String
    ) throws -> Begun {
        let row = try database.query(
            """
            WITH earlier AS (
              SELECT deployment_id, request_hash FROM vercel_deployment_idempotency
              WHERE project_id = \(project.projectID) AND idempotency_key = \(key)),
            begun AS (
              INSERT INTO vercel_deploy_attempts (project_id, vercel_connection_id, vercel_project_id, production, created_by)
              SELECT project_id, vercel_connection_id, vercel_project_id, \(production), \(createdBy)
              FROM vercel_project_mappings
              WHERE id = \(project.mappingID) AND project_id = \(project.projectID)
                AND vercel_project_id = \(project.vercelProjectID) AND NOT EXISTS (SELECT 1 FROM earlier)
              RETURNING \(fragment: Self.columns))
            SELECT e.deployment_id AS earlier_deployment_id, e.request_hash AS earlier_request_hash, b.*
            FROM (SELECT 1) AS one LEFT JOIN earlier e ON true LEFT JOIN begun b ON true
            """
        ).first
        if let row, let deployment: String = try row.decodeIfPresent("earlier_deployment_id") {
            return .named(deploymentID: deployment, fingerprint: try row.decode("earlier_request_hash"))
        }
        guard let row, try row.decodeIfPresent("id", as: UUID.self) != nil else { return .unlinked }
        return .begun(try Self.attempt(row))
    }

    /// Runs `body`, which deploys under `attempt`, and ends the attempt when `body` fails in a way
    /// that surely made nothing at Vercel: a refusal of this service's own before any call (the
    /// guardrail, a missing repository), or a Vercel error that made nothing. Any other failure (no
    /// answer, an answer not understood, the database failing after Vercel answered) leaves it
    /// for `vercel-job-deployment-sync` to settle.
    public func ending<T>(_ attempt: Attempt, unlessMade body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as VercelError {
            if error.madeNothing { try? end(attempt.id) }
            throw error
        } catch let error as PostgresError {
            throw error
        } catch {
            try? end(attempt.id)
            throw error
        }
    }

    /// Ends an attempt whose deployment Vercel surely did not make, or that was found and settled.
    public func end(_ id: UUID) throws {
        try database.execute("DELETE FROM vercel_deploy_attempts WHERE id = \(id)")
    }

    /// Claims up to `limit` attempts begun more than `grace` ago and not claimed by another run in
    /// the last five minutes: each run of the job on each host settles different ones.
    public func claimLeftOver(olderThan grace: Duration, limit: Int = 50) throws -> [Attempt] {
        try database.query(
            """
            UPDATE vercel_deploy_attempts SET claimed_until = now() + interval '5 minutes'
            WHERE id IN (
              SELECT id FROM vercel_deploy_attempts
              WHERE started_at < now() - make_interval(secs => \(Double(grace.components.seconds)))
                AND (claimed_until IS NULL OR claimed_until < now())
              ORDER BY started_at LIMIT \(limit) FOR UPDATE SKIP LOCKED)
            RETURNING \(fragment: Self.columns)
            """
        ).map(Self.attempt)
    }

    static func attempt(_ row: PostgresRow) throws -> Attempt {
        Attempt(
            id: try row.decode("id"), projectID: try row.decode("project_id"),
            connectionID: try row.decode("vercel_connection_id"), vercelProjectID: try row.decode("vercel_project_id"),
            production: try row.decode("production"), createdBy: try row.decode("created_by"),
            startedAt: try row.decode("started_at"))
    }
}
