import Kernel
import Logging
import Postgres
import Vercel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

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

    /// The columns `record` reads, for queries that return deployments.
    static let columns: SQL = """
        deployment_id, deployment_url, deployment_state::text AS state, deployment_type::text AS type,
        array_to_json(alias_urls)::text AS aliases, git_source::text AS git_source, created_at, ready_at, completed_at,
        build_duration_ms, error_code, error_message, error_step, build_logs_url, ready_substate
        """

    /// `git_source` is JSON with its dates (`committedAt`) in ISO 8601, which SQL reads as
    /// `timestamptz`.
    static var gitSourceDecoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }

    static var gitSourceEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }

    static func record(_ row: PostgresRow) throws -> DeploymentRecord {
        let decoder = gitSourceDecoder
        return DeploymentRecord(
            deploymentID: try row.decode("deployment_id"), url: row["deployment_url"],
            state: DeploymentState(rawValue: try row.decode("state")) ?? .queued,
            type: (try row.decode("type", as: String.self)).lowercased(),
            aliasURLs: (try? decoder.decode([String].self, from: Data((row["aliases"] ?? "[]").utf8))) ?? [],
            gitSource: (try? decoder.decode(
                DeploymentRecord.GitSource.self, from: Data((row["git_source"] ?? "{}").utf8))),
            createdAt: try row.decode("created_at"), readyAt: try row.decodeIfPresent("ready_at"),
            completedAt: try row.decodeIfPresent("completed_at"),
            buildDurationMs: try row.decodeIfPresent("build_duration_ms"),
            errorCode: row["error_code"], errorMessage: row["error_message"], errorStep: row["error_step"],
            buildLogsURL: row["build_logs_url"], readySubstate: row["ready_substate"])
    }

    /// Vercel's substate as stored: one of its upper-case words, else nothing.
    static func substate(_ deployment: VercelDeployment) -> String? {
        guard deployment.readyState == "READY", let substate = deployment.readySubstate,
            (1...32).contains(substate.utf8.count),
            substate.utf8.allSatisfy({ (0x41...0x5a).contains($0) || $0 == 0x5f })
        else { return nil }
        return substate
    }

    /// A deployment of `projectID`; nil when it has none by that id.
    public func find(_ deploymentID: String, projectID: UUID) throws -> DeploymentRecord? {
        guard (1...255).contains(deploymentID.utf8.count) else { return nil }
        return try database.query(
            """
            SELECT \(fragment: Self.columns) FROM vercel_deployments
            WHERE deployment_id = \(deploymentID) AND project_id = \(projectID)
              AND created_at = (SELECT created_at FROM vercel_deployment_keys WHERE deployment_id = \(deploymentID))
            """
        ).first.map(Self.record)
    }

    /// What a deploy request asked for, stored beside what Vercel reports.
    public struct Origin: Sendable {
        public let production: Bool
        public let gitSource: DeploymentRecord.GitSource?
        public let createdBy: UUID
        /// The idempotency key and the fingerprint of the request that named it, when it had one.
        public let idempotency: (key: String, fingerprint: String)?
        /// What a deployment from disk uploaded: files and bytes.
        public let upload: (files: Int, bytes: Int)?
        /// What the deployment's files were, and the part no build needs (from disk only).
        public let uploadAudit: UploadAudit.Summary?
        /// The attempt the deployment was made under (`DeployAttemptStore`), ended as it is recorded.
        public let attempt: UUID?

        public init(
            production: Bool, gitSource: DeploymentRecord.GitSource?, createdBy: UUID,
            idempotency: (key: String, fingerprint: String)? = nil, upload: (files: Int, bytes: Int)? = nil,
            uploadAudit: UploadAudit.Summary? = nil, attempt: UUID? = nil
        ) {
            self.attempt = attempt
            self.production = production
            self.gitSource = gitSource
            self.createdBy = createdBy
            self.idempotency = idempotency
            self.upload = upload
            self.uploadAudit = uploadAudit
        }
    }

    /// Stores a deployment Vercel has just created, and its idempotency key, in one statement. A
    /// webhook may have created the row already: then the request's side is filled in and the
    /// state the webhook stored stays (it is at least as new as the creation's answer).
    public func recordCreated(
        _ deployment: VercelDeployment, of project: LinkedProject, origin: Origin
    ) throws -> DeploymentRecord {
        let createdAt = VercelTime.date(milliseconds: deployment.createdAt) ?? Date()
        let gitSource = String(
            decoding: try Self.gitSourceEncoder.encode(origin.gitSource ?? .init()), as: UTF8.self)
        let state = DeploymentState(rawValue: deployment.readyState) ?? .queued
        let audit = try origin.uploadAudit.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        let rows = try database.query(
            """
            WITH stored AS (
              INSERT INTO vercel_deployments AS d (deployment_id, created_at, project_id, vercel_project_mapping_id, vercel_project_id,
                deployment_url, deployment_state, deployment_type, target, created_by, git_source, build_logs_url, correlation_id, metadata,
                ready_substate)
              VALUES (\(deployment.id), vercel_deployment_created_at(\(deployment.id), \(createdAt)), \(project.projectID),
                \(project.mappingID), \(project.vercelProjectID), \(Self.https(deployment.url)), \(state.rawValue)::vercel_deploy_state,
                \(origin.production ? "PRODUCTION" : "PREVIEW")::vercel_deploy_type, \(deployment.target), \(origin.createdBy),
                \(gitSource)::jsonb, \(deployment.inspectorUrl), \(Trace.requestID),
                jsonb_strip_nulls(jsonb_build_object('queuedAt', \(createdAt)::timestamptz,
                  'filesUploaded', \(origin.upload?.files)::int, 'bytesUploaded', \(origin.upload?.bytes)::bigint,
                  'uploadAudit', \(audit)::jsonb)),
                \(Self.substate(deployment)))
              ON CONFLICT (deployment_id, created_at) DO UPDATE SET
                created_by = coalesce(d.created_by, EXCLUDED.created_by),
                git_source = CASE WHEN d.git_source = '{}' THEN EXCLUDED.git_source ELSE d.git_source END,
                deployment_type = EXCLUDED.deployment_type,
                target = coalesce(d.target, EXCLUDED.target),
                deployment_url = coalesce(d.deployment_url, EXCLUDED.deployment_url),
                build_logs_url = coalesce(d.build_logs_url, EXCLUDED.build_logs_url),
                metadata = EXCLUDED.metadata || d.metadata,
                updated_at = now()
              RETURNING \(fragment: Self.columns)),
            idempotency AS (
              INSERT INTO vercel_deployment_idempotency (project_id, idempotency_key, deployment_id, request_hash)
              SELECT \(project.projectID), \(origin.idempotency?.key)::text, deployment_id, \(origin.idempotency?.fingerprint)::text
              FROM stored WHERE \(origin.idempotency?.key)::text IS NOT NULL),
            ended AS (
              DELETE FROM vercel_deploy_attempts WHERE id = \(origin.attempt)::uuid AND EXISTS (SELECT 1 FROM stored))
            SELECT * FROM stored
            """)
        return try Self.record(rows[0])
    }

    /// The deployment an idempotency key named before, with the fingerprint of the request that named it.
    public func idempotent(_ key: String, projectID: UUID) throws -> (deploymentID: String, fingerprint: String)? {
        guard
            let row = try database.query(
                """
                SELECT deployment_id, request_hash FROM vercel_deployment_idempotency
                WHERE project_id = \(projectID) AND idempotency_key = \(key)
                """
            ).first
        else { return nil }
        return (try row.decode("deployment_id"), try row.decode("request_hash"))
    }

    /// Applies what Vercel reports of a deployment (a refresh, a cancel) through the lifecycle: the
    /// state moves only forward, an impossible move is counted, not applied. Nil when the project
    /// has no such deployment.
    /// - Parameter finalizing: whether this report's own reader records the end of the build (the
    ///   sync job does); otherwise a build that ends here queues `deployment.finalize` for it.
    @discardableResult
    public func applyReported(
        _ deployment: VercelDeployment, projectID: UUID, finalizing: Bool = false
    ) throws -> DeploymentRecord? {
        try database.transaction {
            guard
                let row = try database.query(
                    """
                    SELECT deployment_state::text AS state, created_at FROM vercel_deployments
                    WHERE deployment_id = \(deployment.id) AND project_id = \(projectID)
                      AND created_at = (SELECT created_at FROM vercel_deployment_keys WHERE deployment_id = \(deployment.id))
                    FOR UPDATE
                    """
                ).first
            else { return nil }
            let stored = DeploymentState(rawValue: try row.decode("state")) ?? .queued
            let createdAt: Date = try row.decode("created_at")
            let reported = DeploymentState(rawValue: deployment.readyState)
            let decision = reported.map(stored.decide) ?? .keep
            let state = decision == .apply ? reported : nil
            if decision == .reject {
                logger.warning(
                    "invalid deployment transition",
                    metadata: [
                        "deployment.id": "\(deployment.id)", "from": "\(stored.rawValue)",
                        "to": "\(deployment.readyState)",
                    ])
            }
            let readyAt = deployment.ready.flatMap(VercelTime.date(milliseconds:))
            let finishes = state?.isBuildOver == true
            // Vercel's account of a failure is taken whenever it reports one the row agrees with.
            let isError = reported == .error && (state == .error || stored == .error)
            let step = deployment.errorStep.flatMap { ["BUILD", "DEPLOY", "CHECK"].contains($0) ? $0 : nil }
            // Both times plausible, so their difference cannot overflow.
            let duration = deployment.ready.flatMap { ready -> Int? in
                guard VercelTime.plausible.contains(ready), VercelTime.plausible.contains(deployment.createdAt) else {
                    return nil
                }
                return max(0, Int(ready - deployment.createdAt))
            }
            let updated = try database.query(
                """
                UPDATE vercel_deployments SET
                  deployment_state = coalesce(\(state?.rawValue)::vercel_deploy_state, deployment_state),
                  ready_at = CASE WHEN \(state == .ready) THEN coalesce(\(readyAt), now()) ELSE ready_at END,
                  completed_at = CASE WHEN \(finishes) THEN coalesce(completed_at, \(readyAt), now()) ELSE completed_at END,
                  build_duration_ms = CASE WHEN \(state == .ready) THEN coalesce(build_duration_ms, \(duration)) ELSE build_duration_ms END,
                  error_code = CASE WHEN \(isError) THEN coalesce(\(deployment.errorCode), error_code, 'BUILD_FAILED') ELSE error_code END,
                  error_message = CASE WHEN \(isError)
                                       THEN coalesce(\(deployment.errorMessage.map { String($0.prefix(2000)) }), error_message)
                                       ELSE error_message END,
                  error_step = CASE WHEN \(isError) THEN coalesce(\(step), error_step) ELSE error_step END,
                  alias_urls = CASE WHEN \(deployment.readyState == "READY") AND cardinality(\(deployment.alias ?? [])::text[]) > 0
                                    THEN \(deployment.alias ?? [])::text[] ELSE alias_urls END,
                  build_logs_url = coalesce(build_logs_url, \(deployment.inspectorUrl)),
                  ready_substate = CASE WHEN deployment_state = 'READY' OR \(state == .ready)
                                        THEN coalesce(\(Self.substate(deployment)), ready_substate) ELSE ready_substate END,
                  invalid_transitions = invalid_transitions + \(decision == .reject ? 1 : 0),
                  updated_at = now()
                WHERE deployment_id = \(deployment.id) AND created_at = \(createdAt)
                RETURNING \(fragment: Self.columns)
                """)
            if finishes, !stored.isBuildOver, let state {
                Metrics.shared.increment(.deploymentsFinished, [state.rawValue.lowercased()])
            }
            if finishes, !finalizing {
                try Self.queueFinalization(deployment.id, projectID: projectID, database: database)
            }
            return try updated.first.map(Self.record)
        }
    }

    /// The kind of job that reads a deployment whose build ended from Vercel once and records why
    /// and how it ended (`vercel-job-deployment-sync`).
    public static let finalizeKind = "deployment.finalize"

    static func queueFinalization(_ deploymentID: String, projectID: UUID, database: PostgresConnection) throws {
        try database.execute(
            """
            INSERT INTO vercel_jobs (kind, payload, dedup_key)
            VALUES (\(finalizeKind), jsonb_build_object('deploymentId', \(deploymentID)::text, 'projectId', \(projectID)::text),
              \(deploymentID))
            ON CONFLICT DO NOTHING
            """)
    }

    /// Records how a deployment's build ended, from Vercel's own report of it: its error (code,
    /// message, step, out-of-memory report) through the lifecycle, and its metrics row (once).
    public func recordFinal(_ deployment: VercelDeployment, projectID: UUID) throws {
        try applyReported(deployment, projectID: projectID, finalizing: true)
        let created = deployment.createdAt
        let building = deployment.buildingAt.flatMap { VercelTime.plausible.contains($0) ? $0 : nil }
        let ready = deployment.ready.flatMap { VercelTime.plausible.contains($0) ? $0 : nil }
        // Plausible times differ by far less than Int32 milliseconds only within a few weeks; cap it.
        let queuedMs = building.flatMap {
            VercelTime.plausible.contains(created) ? min(max(0, $0 - created), Int64(Int32.max)) : nil
        }
        let buildMs = ready.flatMap { ready in building.map { min(max(0, ready - $0), Int64(Int32.max)) } }
        try database.execute(
            """
            WITH deployment AS (
              UPDATE vercel_deployments SET oom_report = coalesce(\(deployment.oomReport.map { String($0.prefix(200)) }), oom_report)
              WHERE deployment_id = \(deployment.id) AND project_id = \(projectID)
                AND created_at = (SELECT created_at FROM vercel_deployment_keys WHERE deployment_id = \(deployment.id))
              RETURNING deployment_id, project_id, vercel_project_id, deployment_type, deployment_state, error_code, error_step,
                created_at, metadata)
            INSERT INTO vercel_build_metrics (deployment_id, project_id, vercel_project_id, deployment_type, framework, outcome,
              error_code, error_step, created_at, queue_ms, build_duration_ms, file_count, bytes_uploaded)
            SELECT d.deployment_id, d.project_id, d.vercel_project_id, d.deployment_type, m.framework, d.deployment_state,
              d.error_code, d.error_step, d.created_at, \(queuedMs)::int, \(buildMs)::int,
              (d.metadata->>'filesUploaded')::int, (d.metadata->>'bytesUploaded')::bigint
            FROM deployment d LEFT JOIN vercel_project_mappings m ON m.project_id = d.project_id
            WHERE d.deployment_state IN ('READY', 'ERROR', 'CANCELED')
            ON CONFLICT (deployment_id) DO NOTHING
            """)
    }

    /// Vercel's deployment hosts come without a scheme.
    public static func https(_ url: String) -> String {
        url.hasPrefix("https://") || url.hasPrefix("http://") ? url : "https://" + url
    }
}
