import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The deployments watched after they became production (`vercel_production_watch`). One row per
/// deployment, so none is watched, or rolled back, twice; one watch per project at a time, since
/// a newer promotion supersedes the one before. A step claims the row while it runs (`stepLease`),
/// and its probe leaves it claimed until the next is due (`probeSpacing`), so hosts running the
/// sync job at once probe a watch once a minute between them.
public struct ProductionWatchStore {
    let database: PostgresConnection

    public init(database: PostgresConnection) {
        self.database = database
    }

    /// How long a claimed watch is left alone: the sync job's period, less a little.
    public static let probeSpacing = 50

    /// How a watch ended, or that it goes on.
    public enum Status: String, Sendable, Codable {
        case watching
        /// Its window ended with production healthy.
        case passed
        /// Production moved on before it ended (a newer promotion, the user's own move).
        case superseded
        case rolledBack = "rolled_back"
        /// Failing, but not rolled back: nothing healthy to go back to.
        case held
    }

    /// A deployment's watch as the API shows it.
    public struct Record: Encodable, Sendable, Equatable {
        public let status: Status
        public let previousDeploymentId: String?
        public let failures: Int
        public let probes: Int
        public let results: [ProbeResult]
        public let reason: String?
        public let watchUntil: Date
        public let endedAt: Date?

        public func encode(to encoder: any Encoder) throws {
            enum Keys: String, CodingKey {
                case status, previousDeploymentId, failures, probes, results, reason, watchUntil, endedAt
            }
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(status, forKey: .status)
            try container.encode(previousDeploymentId, forKey: .previousDeploymentId)
            try container.encode(failures, forKey: .failures)
            try container.encode(probes, forKey: .probes)
            try container.encode(results, forKey: .results)
            try container.encode(reason, forKey: .reason)
            try container.encode(watchUntil, forKey: .watchUntil)
            try container.encode(endedAt, forKey: .endedAt)
        }
    }

    public func record(_ deploymentID: String, projectID: UUID) throws -> Record? {
        guard
            let row = try database.query(
                """
                SELECT status::text AS status, previous_deployment_id, failures, probes, results::text AS results, reason,
                  watch_until, ended_at
                FROM vercel_production_watch WHERE deployment_id = \(deploymentID) AND project_id = \(projectID)
                """
            ).first
        else { return nil }
        return Record(
            status: Status(rawValue: try row.decode("status")) ?? .watching,
            previousDeploymentId: row["previous_deployment_id"], failures: try row.decode("failures"),
            probes: try row.decode("probes"),
            results: try JSONDecoder().decode(
                [ProbeResult].self, from: Data(try row.decode("results", as: String.self).utf8)),
            reason: row["reason"], watchUntil: try row.decode("watch_until"),
            endedAt: try row.decodeIfPresent("ended_at"))
    }

    /// What starting a watch did.
    public struct Started: Sendable, Equatable {
        /// False when the project turned rollback off, or the deployment was watched before.
        public let started: Bool
        /// Watches of the project's earlier production that this promotion ended.
        public let superseded: Int
    }

    /// `deploymentID` became `projectID`'s production: the project's other watch ends (superseded)
    /// and this one starts, unless the project turned rollback off or it was watched before. The
    /// deployment to go back to is `previous` (as Vercel reported the move), else the one watched
    /// before (the production this one replaced), else the newest other production deployment that
    /// served; never one rolled back for failing.
    @discardableResult
    public func start(
        _ deploymentID: String, projectID: UUID, mappingID: UUID, previous: String?
    ) throws -> Started {
        let row = try database.query(
            """
            WITH settings AS (
              SELECT coalesce(bool_and(rollback_enabled), true) AS enabled,
                coalesce(max(rollback_window_minutes), \(SmokeCheckStore.Rollback.standard.windowMinutes)) AS window_minutes
              FROM vercel_smoke_check_settings WHERE vercel_project_mapping_id = \(mappingID)),
            candidate AS (
              SELECT 1 AS rank, \(previous)::text AS id
              UNION ALL
              (SELECT 2, deployment_id FROM vercel_production_watch
               WHERE project_id = \(projectID) AND deployment_id <> \(deploymentID) ORDER BY started_at DESC LIMIT 1)
              UNION ALL
              (SELECT 3, deployment_id FROM vercel_deployments
               WHERE project_id = \(projectID) AND deployment_type = 'PRODUCTION' AND deployment_state = 'READY'
                 AND ready_substate IS DISTINCT FROM 'STAGED' AND deployment_id <> \(deploymentID)
               ORDER BY coalesce(ready_at, created_at) DESC LIMIT 1)),
            previous AS (
              SELECT c.id FROM candidate c
              WHERE c.id IS NOT NULL AND c.id <> \(deploymentID)
                AND NOT EXISTS (SELECT 1 FROM vercel_production_watch w WHERE w.deployment_id = c.id AND w.status = 'rolled_back')
              ORDER BY c.rank LIMIT 1),
            superseded AS (
              UPDATE vercel_production_watch SET status = 'superseded',
                reason = 'production moved to ' || \(deploymentID)::text, claimed_until = NULL, ended_at = now(), updated_at = now()
              WHERE project_id = \(projectID) AND status = 'watching' AND deployment_id <> \(deploymentID)
              RETURNING 1),
            started AS (
              INSERT INTO vercel_production_watch (deployment_id, project_id, previous_deployment_id, watch_until)
              SELECT \(deploymentID), \(projectID), (SELECT id FROM previous), now() + make_interval(mins => window_minutes)
              FROM settings WHERE enabled
              ON CONFLICT (deployment_id) DO NOTHING
              RETURNING 1)
            SELECT (SELECT count(*) FROM started)::int AS started, (SELECT count(*) FROM superseded)::int AS superseded
            """)[0]
        return Started(started: try row.decode("started", as: Int.self) > 0, superseded: try row.decode("superseded"))
    }

    /// A watch claimed for one probe.
    public struct Claimed: Sendable {
        public let deploymentID: String
        public let projectID: UUID
        public let previousDeploymentID: String?
        public let failures: Int
        public let watchUntil: Date
    }

    /// How long a step holds its watch (probes of this deployment and the one before, a rollback),
    /// so no other run probes it meanwhile; a run that died lets go when it lapses.
    public static let stepLease = 300

    /// Claims up to `limit` watches due for a probe, for one step.
    public func claimDue(limit: Int) throws -> [Claimed] {
        try database.query(
            """
            UPDATE vercel_production_watch SET claimed_until = now() + make_interval(secs => \(Self.stepLease)),
              updated_at = now()
            WHERE deployment_id IN (
              SELECT deployment_id FROM vercel_production_watch
              WHERE status = 'watching' AND (claimed_until IS NULL OR claimed_until < now())
              ORDER BY started_at LIMIT \(limit) FOR UPDATE SKIP LOCKED)
            RETURNING deployment_id, project_id, previous_deployment_id, failures, watch_until
            """
        ).map {
            Claimed(
                deploymentID: try $0.decode("deployment_id"), projectID: try $0.decode("project_id"),
                previousDeploymentID: $0["previous_deployment_id"], failures: try $0.decode("failures"),
                watchUntil: try $0.decode("watch_until"))
        }
    }

    /// Records one probe of a watch still going on; the consecutive failures now, nil when it ended
    /// meanwhile.
    public func probed(_ deploymentID: String, results: [ProbeResult]) throws -> Int? {
        let passed = results.allSatisfy(\.passed)
        let encoded = String(decoding: try JSONEncoder().encode(results), as: UTF8.self)
        return try database.query(
            """
            UPDATE vercel_production_watch SET probes = probes + 1,
              failures = CASE WHEN \(passed) THEN 0 ELSE failures + 1 END, results = \(encoded)::jsonb,
              claimed_until = now() + make_interval(secs => \(Self.probeSpacing)), updated_at = now()
            WHERE deployment_id = \(deploymentID) AND status = 'watching'
            RETURNING failures
            """
        ).first?.decode("failures")
    }

    /// Lets a step that failed be tried again on the next run, not after its lease.
    public func release(_ deploymentID: String) throws {
        try database.execute(
            """
            UPDATE vercel_production_watch SET claimed_until = now() + make_interval(secs => \(Self.probeSpacing)),
              updated_at = now()
            WHERE deployment_id = \(deploymentID) AND status = 'watching'
            """)
    }

    /// Ends a watch still going on; false when it had ended already.
    @discardableResult
    public func end(_ deploymentID: String, _ status: Status, reason: String?) throws -> Bool {
        try !database.query(
            """
            UPDATE vercel_production_watch SET status = \(status.rawValue)::vercel_production_watch_status,
              reason = left(\(reason), 500), claimed_until = NULL, ended_at = now(), updated_at = now()
            WHERE deployment_id = \(deploymentID) AND status = 'watching'
            RETURNING 1
            """
        ).isEmpty
    }

    /// Production of `projectID` moved without a promotion to watch (a rollback): the watch going
    /// on ends superseded. How many ended.
    @discardableResult
    public func supersede(projectID: UUID, reason: String) throws -> Int {
        try database.query(
            """
            UPDATE vercel_production_watch SET status = 'superseded', reason = left(\(reason), 500), claimed_until = NULL,
              ended_at = now(), updated_at = now()
            WHERE project_id = \(projectID) AND status = 'watching'
            RETURNING 1
            """
        ).count
    }

    /// Whether a deployment of `projectID` built from `commitSha` was rolled back for failing.
    public func rolledBack(commitSha: String, projectID: UUID) throws -> String? {
        try database.query(
            """
            SELECT w.deployment_id FROM vercel_production_watch w
            JOIN vercel_deployments d ON d.deployment_id = w.deployment_id AND d.project_id = w.project_id
            WHERE w.project_id = \(projectID) AND w.status = 'rolled_back' AND d.git_source->>'commitSha' = \(commitSha)
            LIMIT 1
            """
        ).first?["deployment_id"]
    }
}
