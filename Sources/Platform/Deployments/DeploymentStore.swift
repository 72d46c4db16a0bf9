#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import FastCGI
import Logging
import Postgres
import Vercel

/// The deployments this service keeps, one row per Vercel deployment, shared with the webhooks:
/// whichever of the deploy route, a refresh or a webhook comes first creates the row, and every
/// later report moves it only as the lifecycle allows.
public struct DeploymentStore {
    let database: PostgresConnection
    let logger: Logger

    public init(database: PostgresConnection, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    /// A deployment as the API shows it.
    public struct Record: Sendable {
        public let deploymentID: String
        public let url: String?
        public let state: DeploymentState
        /// `production` or `preview`.
        public let type: String
        public let aliasURLs: [String]
        public let gitSource: JSONValue
        public let createdAt: Date
        public let readyAt: Date?
        public let completedAt: Date?
        public let buildDurationMs: Int?
        public let errorCode: String?
        public let errorMessage: String?
        public let errorStep: String?
        public let buildLogsURL: String?

        /// The git branch it was built from, nil for files.
        public var branch: String? {
            if case .object(let fields) = gitSource, case .string(let branch) = fields["branch"] { return branch }
            return nil
        }

        /// READY, or an end state; a READY deployment can still be canceled, but its build is over.
        public var isSettled: Bool { state == .ready || state.isTerminal }

        public var json: JSONValue {
            func date(_ value: Date?) -> JSONValue { value.map { .string(ISO8601.format($0)) } ?? .null }
            let error: JSONValue =
                errorCode == nil && errorMessage == nil
                ? .null
                : .object([
                    "code": errorCode.map { .string($0) } ?? .null, "message": errorMessage.map { .string($0) } ?? .null,
                    "step": errorStep.map { .string($0) } ?? .null,
                ])
            return .object([
                "id": .string(deploymentID), "url": url.map { .string($0) } ?? .null, "state": .string(state.rawValue),
                "type": .string(type), "aliasUrls": .array(aliasURLs.map { .string($0) }),
                "gitSource": gitSource == .object([:]) ? .null : gitSource, "createdAt": date(createdAt), "readyAt": date(readyAt),
                "completedAt": date(completedAt), "buildDurationMs": buildDurationMs.map { .integer($0) } ?? .null, "error": error,
                "buildLogsUrl": buildLogsURL.map { .string($0) } ?? .null,
            ])
        }
    }

    /// The columns `record` reads, for queries that list deployments.
    public static let columns: SQL = """
        deployment_id, deployment_url, deployment_state::text AS state, deployment_type::text AS type,
        array_to_json(alias_urls)::text AS aliases, git_source::text AS git_source, created_at, ready_at, completed_at,
        build_duration_ms, error_code, error_message, error_step, build_logs_url
        """

    public static func record(_ row: PostgresRow) throws -> Record {
        let decoder = JSONDecoder()
        return Record(
            deploymentID: try row.decode("deployment_id"), url: row["deployment_url"],
            state: DeploymentState(rawValue: try row.decode("state")) ?? .queued,
            type: (try row.decode("type", as: String.self)).lowercased(),
            aliasURLs: (try? decoder.decode([String].self, from: Data((row["aliases"] ?? "[]").utf8))) ?? [],
            gitSource: (try? decoder.decode(JSONValue.self, from: Data((row["git_source"] ?? "{}").utf8))) ?? .object([:]),
            createdAt: try row.decode("created_at"), readyAt: try row.decodeIfPresent("ready_at"),
            completedAt: try row.decodeIfPresent("completed_at"), buildDurationMs: try row.decodeIfPresent("build_duration_ms"),
            errorCode: row["error_code"], errorMessage: row["error_message"], errorStep: row["error_step"],
            buildLogsURL: row["build_logs_url"])
    }

    /// A deployment of `projectID`; nil when it has none by that id.
    public func find(_ deploymentID: String, projectID: UUID) throws -> Record? {
        guard (1...255).contains(deploymentID.utf8.count) else { return nil }
        return try database.query(
            """
            SELECT \(fragment: Self.columns) FROM vercel_deployments
            WHERE deployment_id = \(deploymentID) AND project_id = \(projectID)
              AND created_at = (SELECT created_at FROM vercel_deployment_keys WHERE deployment_id = \(deploymentID))
            """
        ).first.map(Self.record)
    }

    /// A deployment of `projectID`, or 404 `DEPLOYMENT_NOT_FOUND`.
    public func require(_ deploymentID: String, projectID: UUID) throws -> Record {
        guard let record = try find(deploymentID, projectID: projectID) else {
            throw HTTPError.notFound("This project has no such deployment", code: "DEPLOYMENT_NOT_FOUND")
        }
        return record
    }

    /// What a deploy request asked for, stored beside what Vercel reports.
    public struct Origin: Sendable {
        public let production: Bool
        public let gitSource: JSONValue
        public let createdBy: UUID
        public let correlationID: String

        public init(production: Bool, gitSource: JSONValue, createdBy: UUID, correlationID: String) {
            self.production = production
            self.gitSource = gitSource
            self.createdBy = createdBy
            self.correlationID = correlationID
        }
    }

    /// Stores a deployment Vercel has just created. A webhook may have created the row already:
    /// then the request's side is filled in and the state moves only forward.
    public func recordCreated(_ deployment: VercelDeployment, of project: LinkedProject, origin: Origin) throws -> Record {
        let createdAt = Date(timeIntervalSince1970: Double(deployment.createdAt) / 1000)
        let gitSource = origin.gitSource.serializedText
        try database.execute(
            """
            INSERT INTO vercel_deployments AS d (deployment_id, created_at, project_id, vercel_project_mapping_id, vercel_project_id,
              deployment_url, deployment_state, deployment_type, target, created_by, git_source, build_logs_url, correlation_id, metadata)
            VALUES (\(deployment.id), vercel_deployment_created_at(\(deployment.id), \(createdAt)), \(project.projectID), \(project.mappingID),
              \(project.vercelProjectID), \(Self.https(deployment.url)), 'QUEUED',
              \(origin.production ? "PRODUCTION" : "PREVIEW")::vercel_deploy_type, \(deployment.target), \(origin.createdBy),
              \(gitSource)::jsonb, \(deployment.inspectorUrl), \(origin.correlationID),
              jsonb_build_object('queuedAt', \(createdAt)::timestamptz))
            ON CONFLICT (deployment_id, created_at) DO UPDATE SET
              created_by = coalesce(d.created_by, EXCLUDED.created_by),
              git_source = CASE WHEN d.git_source = '{}' THEN EXCLUDED.git_source ELSE d.git_source END,
              deployment_type = EXCLUDED.deployment_type,
              target = coalesce(d.target, EXCLUDED.target),
              deployment_url = coalesce(d.deployment_url, EXCLUDED.deployment_url),
              build_logs_url = coalesce(d.build_logs_url, EXCLUDED.build_logs_url),
              metadata = EXCLUDED.metadata || d.metadata,
              updated_at = now()
            """)
        return try applyReported(deployment, projectID: project.projectID) ?? require(deployment.id, projectID: project.projectID)
    }

    /// Applies what Vercel reports of a deployment (a refresh, a cancel) through the lifecycle: the
    /// state moves only forward, an impossible move is counted, not applied. Nil when the project
    /// has no such deployment.
    @discardableResult
    public func applyReported(_ deployment: VercelDeployment, projectID: UUID) throws -> Record? {
        try database.transaction {
            guard let row = try database.query(
                """
                SELECT deployment_state::text AS state, created_at FROM vercel_deployments
                WHERE deployment_id = \(deployment.id) AND project_id = \(projectID)
                  AND created_at = (SELECT created_at FROM vercel_deployment_keys WHERE deployment_id = \(deployment.id))
                FOR UPDATE
                """).first
            else { return nil }
            let stored = DeploymentState(rawValue: try row.decode("state")) ?? .queued
            let createdAt: Date = try row.decode("created_at")
            let reported = DeploymentState(rawValue: deployment.readyState)
            let decision = reported.map(stored.decide) ?? .keep
            let state = decision == .apply ? reported : nil
            if decision == .reject {
                logger.warning("invalid deployment transition", metadata: [
                    "deployment.id": "\(deployment.id)", "from": "\(stored.rawValue)", "to": "\(deployment.readyState)",
                ])
            }
            let readyAt = deployment.ready.map { Date(timeIntervalSince1970: Double($0) / 1000) }
            let finishes = state == .ready || state?.isTerminal == true
            let isError = state == .error
            let step = deployment.errorStep.flatMap { ["BUILD", "DEPLOY", "CHECK"].contains($0) ? $0 : nil }
            let duration = readyAt.map { max(0, Int(($0.timeIntervalSince1970 * 1000).rounded()) - Int(deployment.createdAt)) }
            try database.execute(
                """
                UPDATE vercel_deployments SET
                  deployment_state = coalesce(\(state?.rawValue)::vercel_deploy_state, deployment_state),
                  ready_at = CASE WHEN \(state == .ready) THEN coalesce(\(readyAt), now()) ELSE ready_at END,
                  completed_at = CASE WHEN \(finishes) THEN coalesce(completed_at, \(readyAt), now()) ELSE completed_at END,
                  build_duration_ms = CASE WHEN \(state == .ready) THEN coalesce(build_duration_ms, \(duration)) ELSE build_duration_ms END,
                  error_code = CASE WHEN \(isError) THEN coalesce(\(deployment.errorCode), error_code, 'BUILD_FAILED') ELSE error_code END,
                  error_message = CASE WHEN \(isError) THEN coalesce(\(deployment.errorMessage.map { String($0.prefix(2000)) }), error_message) ELSE error_message END,
                  error_step = CASE WHEN \(isError) THEN coalesce(\(step), error_step) ELSE error_step END,
                  alias_urls = CASE WHEN \(deployment.readyState == "READY") AND cardinality(\(deployment.alias ?? [])::text[]) > 0
                                    THEN \(deployment.alias ?? [])::text[] ELSE alias_urls END,
                  build_logs_url = coalesce(build_logs_url, \(deployment.inspectorUrl)),
                  invalid_transitions = invalid_transitions + \(decision == .reject ? 1 : 0),
                  updated_at = now()
                WHERE deployment_id = \(deployment.id) AND created_at = \(createdAt)
                """)
            return try require(deployment.id, projectID: projectID)
        }
    }

    /// Vercel's deployment hosts come without a scheme.
    public static func https(_ url: String) -> String {
        url.hasPrefix("https://") || url.hasPrefix("http://") ? url : "https://" + url
    }
}
