import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The check this service registers with Vercel for each deployment and what its probes found
/// (`vercel_deployment_checks`). Each step claims the row in the statement that moves it, so two
/// runs (hosts, a retry and a request) never register or probe one deployment at once; a claim a
/// dead run left lapses after two minutes.
public struct DeploymentCheckStore {
    let database: PostgresConnection

    public init(database: PostgresConnection) {
        self.database = database
    }

    /// The kind of job that registers a deployment's check (`register`) or probes it (`run`).
    public static let jobKind = "deployment.check"

    /// A deployment's check as the API shows it.
    public struct Record: Encodable, Sendable, Equatable {
        /// `registering`, `registered`, `running`, `completed` or `unregistered`.
        public let status: String
        /// `succeeded` or `failed` once a run has concluded.
        public let conclusion: String?
        /// Whether Vercel holds the deployment back for it (false: it could not be registered).
        public let blocking: Bool
        public let results: [ProbeResult]
        public let reason: String?
        public let runs: Int
        public let concludedAt: Date?

        public func encode(to encoder: any Encoder) throws {
            enum Keys: String, CodingKey { case status, conclusion, blocking, results, reason, runs, concludedAt }
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(status, forKey: .status)
            try container.encode(conclusion, forKey: .conclusion)
            try container.encode(blocking, forKey: .blocking)
            try container.encode(results, forKey: .results)
            try container.encode(reason, forKey: .reason)
            try container.encode(runs, forKey: .runs)
            try container.encode(concludedAt, forKey: .concludedAt)
        }
    }

    public func record(_ deploymentID: String, projectID: UUID) throws -> Record? {
        guard
            let row = try database.query(
                """
                SELECT status::text AS status, conclusion, vercel_check_id, results::text AS results, reason, runs,
                  concluded_at
                FROM vercel_deployment_checks WHERE deployment_id = \(deploymentID) AND project_id = \(projectID)
                """
            ).first
        else { return nil }
        let results = try JSONDecoder().decode(
            [ProbeResult].self, from: Data(try row.decode("results", as: String.self).utf8))
        return Record(
            status: try row.decode("status"), conclusion: row["conclusion"], blocking: row["vercel_check_id"] != nil,
            results: results, reason: row["reason"], runs: try row.decode("runs"),
            concludedAt: try row.decodeIfPresent("concluded_at"))
    }

    /// Queues a step for a deployment, once while one is waiting.
    public func queue(_ action: Action, deploymentID: String, projectID: UUID) throws {
        try database.execute(
            """
            INSERT INTO vercel_jobs (kind, payload, dedup_key)
            VALUES (\(Self.jobKind), jsonb_build_object('action', \(action.rawValue)::text,
              'deploymentId', \(deploymentID)::text, 'projectId', \(projectID)::text),
              \(action.rawValue + ":" + deploymentID))
            ON CONFLICT DO NOTHING
            """)
    }

    public enum Action: String, Sendable, Decodable {
        case register
        case run
    }

    /// Takes the deployment's registration: its attempt (1 for the first), or nil when it is
    /// registered already, another run holds it, or the project turned its checks off.
    func claimRegistration(_ deploymentID: String, of project: LinkedProject) throws -> Int? {
        try database.query(
            """
            INSERT INTO vercel_deployment_checks AS c (deployment_id, project_id, attempts, claimed_until)
            SELECT \(deploymentID), \(project.projectID), 1, now() + interval '2 minutes'
            WHERE NOT EXISTS (
              SELECT 1 FROM vercel_smoke_check_settings WHERE vercel_project_mapping_id = \(project.mappingID) AND NOT enabled)
            ON CONFLICT (deployment_id) DO UPDATE SET attempts = c.attempts + 1,
              claimed_until = now() + interval '2 minutes', updated_at = now()
            WHERE c.status = 'registering' AND coalesce(c.claimed_until, '-infinity') < now()
              AND c.project_id = EXCLUDED.project_id
            RETURNING attempts
            """
        ).first?.decode("attempts")
    }

    func registered(_ deploymentID: String, checkID: String) throws {
        try database.execute(
            """
            UPDATE vercel_deployment_checks SET status = 'registered', vercel_check_id = \(checkID),
              claimed_until = NULL, reason = NULL, updated_at = now()
            WHERE deployment_id = \(deploymentID) AND status = 'registering'
            """)
    }

    /// No check could be registered: the deployment is probed all the same, but Vercel does not
    /// wait for it.
    func unregistered(_ deploymentID: String, reason: String) throws {
        try database.execute(
            """
            UPDATE vercel_deployment_checks SET status = 'unregistered', claimed_until = NULL,
              reason = \(String(reason.prefix(500))), updated_at = now()
            WHERE deployment_id = \(deploymentID) AND status = 'registering'
            """)
    }

    /// Lets the registration go and queues it for the sync job, in one statement.
    func deferRegistration(_ deploymentID: String, projectID: UUID) throws {
        try database.execute(
            """
            WITH released AS (
              UPDATE vercel_deployment_checks SET claimed_until = NULL, updated_at = now()
              WHERE deployment_id = \(deploymentID) AND status = 'registering')
            INSERT INTO vercel_jobs (kind, payload, dedup_key)
            VALUES (\(Self.jobKind), jsonb_build_object('action', 'register', 'deploymentId', \(deploymentID)::text,
              'projectId', \(projectID)::text), \("register:" + deploymentID))
            ON CONFLICT DO NOTHING
            """)
    }

    /// Lets the next run take a step this one could not finish.
    func release(_ deploymentID: String) throws {
        try database.execute(
            """
            UPDATE vercel_deployment_checks SET claimed_until = NULL,
              status = CASE WHEN status = 'running'
                            THEN (CASE WHEN vercel_check_id IS NULL THEN 'unregistered' ELSE 'registered' END)::vercel_deployment_check_status
                            ELSE status END,
              updated_at = now()
            WHERE deployment_id = \(deploymentID)
            """)
    }

    /// What a run is given: the check to conclude at Vercel (nil when none was registered) and
    /// which run it is.
    struct Run {
        let checkID: String?
        let number: Int
    }

    /// A run taken, or why none could be.
    enum Claim {
        case run(Run)
        /// Its registration is still in flight: try again shortly.
        case registering
        /// It ran and concluded, or another run holds it.
        case taken
    }

    /// Takes a deployment's run. A deployment with no row (its build ended before any check could
    /// be registered) gets one, unregistered, and is probed all the same.
    func claimRun(_ deploymentID: String, projectID: UUID) throws -> Claim {
        let row = try database.query(
            """
            INSERT INTO vercel_deployment_checks AS c (deployment_id, project_id, status, runs, claimed_until, reason)
            VALUES (\(deploymentID), \(projectID), 'running', 1, now() + interval '2 minutes',
              'the build had ended before a check could be registered')
            ON CONFLICT (deployment_id) DO UPDATE SET status = 'running', runs = c.runs + 1,
              claimed_until = now() + interval '2 minutes', updated_at = now()
            WHERE c.project_id = EXCLUDED.project_id AND (c.status IN ('registered', 'unregistered')
              OR (c.status = 'running' AND coalesce(c.claimed_until, '-infinity') < now()))
            RETURNING vercel_check_id, runs
            """
        ).first
        if let row { return .run(Run(checkID: row["vercel_check_id"], number: try row.decode("runs"))) }
        let status: String? = try database.query(
            "SELECT status::text AS status FROM vercel_deployment_checks WHERE deployment_id = \(deploymentID)"
        ).first?.decode("status")
        return status == "registering" ? .registering : .taken
    }

    /// Stores a run's conclusion and what each probe found; why the check is not registered, when
    /// it is not, stays.
    func concluded(_ deploymentID: String, _ conclusion: String, results: [ProbeResult], reason: String?) throws {
        let encoded = String(decoding: try JSONEncoder().encode(results), as: UTF8.self)
        try database.execute(
            """
            UPDATE vercel_deployment_checks SET status = 'completed', conclusion = \(conclusion),
              results = \(encoded)::jsonb, reason = coalesce(\(reason.map { String($0.prefix(500)) }), reason), claimed_until = NULL,
              concluded_at = now(), updated_at = now()
            WHERE deployment_id = \(deploymentID) AND status = 'running'
            """)
    }

    /// Makes a concluded check runnable again and queues its run, in one statement; false when it
    /// is not concluded (still registering or running).
    func rerun(_ deploymentID: String, projectID: UUID) throws -> Bool {
        try !database.query(
            """
            WITH reopened AS (
              UPDATE vercel_deployment_checks SET
                status = (CASE WHEN vercel_check_id IS NULL THEN 'unregistered' ELSE 'registered' END)::vercel_deployment_check_status,
                updated_at = now()
              WHERE deployment_id = \(deploymentID) AND project_id = \(projectID) AND status = 'completed'
              RETURNING deployment_id),
            queued AS (
              INSERT INTO vercel_jobs (kind, payload, dedup_key)
              SELECT \(Self.jobKind), jsonb_build_object('action', 'run', 'deploymentId', deployment_id,
                'projectId', \(projectID)::text), 'run:' || deployment_id
              FROM reopened
              ON CONFLICT DO NOTHING)
            SELECT 1 FROM reopened
            """
        ).isEmpty
    }
}
