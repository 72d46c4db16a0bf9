import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension DeploymentStore {
    /// A position in the list: after the deployment created at `createdAt` (Postgres's own text of
    /// the timestamp, so it compares exactly) with id `deploymentID`.
    public struct Position: Sendable, Equatable {
        public let createdAt: String
        public let deploymentID: String

        public init(createdAt: String, deploymentID: String) {
            self.createdAt = createdAt
            self.deploymentID = deploymentID
        }
    }

    /// Which deployments a page holds.
    public struct Filter: Sendable {
        /// States in capitals; nil for all.
        public var states: [String]?
        /// `PRODUCTION` or `PREVIEW`; nil for both.
        public var type: String?

        public init(states: [String]? = nil, type: String? = nil) {
            self.states = states
            self.type = type
        }
    }

    /// Up to `limit` deployments of `projectID`, newest first, after `position`; and where the next
    /// page starts, nil on the last.
    public func page(
        _ projectID: UUID, filter: Filter, after position: Position?, limit: Int
    ) throws
        -> (deployments: [DeploymentRecord], next: Position?)
    {
        let rows = try database.query(
            """
            SELECT \(fragment: Self.columns), created_at::text AS position
            FROM vercel_deployments
            WHERE project_id = \(projectID)
              AND (\(filter.states)::text[] IS NULL OR deployment_state::text = ANY(\(filter.states)::text[]))
              AND (\(filter.type)::text IS NULL OR deployment_type::text = \(filter.type))
              AND (\(position?.createdAt)::timestamptz IS NULL
                   OR (created_at, deployment_id) < (\(position?.createdAt)::timestamptz, \(position?.deploymentID)))
            ORDER BY created_at DESC, deployment_id DESC
            LIMIT \(limit + 1)
            """)
        let page = try rows.prefix(limit).map(Self.record)
        guard rows.count > limit else { return (page, nil) }
        return (
            page,
            Position(createdAt: try rows[limit - 1].decode("position"), deploymentID: page[limit - 1].deploymentID)
        )
    }

    /// The last 30 days of a project's deployments.
    public struct Stats: Encodable, Sendable {
        public let periodDays: Int
        public let total: Int
        public let ready: Int
        public let error: Int
        public let canceled: Int
        public let inProgress: Int
        public let production: Int
        /// Of the builds that finished READY or ERROR, the share that were READY, to 3 places.
        public let successRate: Double?
        public let averageBuildDurationMs: Int?
        public let medianBuildDurationMs: Int?
        public let p95BuildDurationMs: Int?

        public func encode(to encoder: any Encoder) throws {
            enum Keys: String, CodingKey {
                case periodDays, total, ready, error, canceled, inProgress, production, successRate,
                    averageBuildDurationMs
                case medianBuildDurationMs, p95BuildDurationMs
            }
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(periodDays, forKey: .periodDays)
            try container.encode(total, forKey: .total)
            try container.encode(ready, forKey: .ready)
            try container.encode(error, forKey: .error)
            try container.encode(canceled, forKey: .canceled)
            try container.encode(inProgress, forKey: .inProgress)
            try container.encode(production, forKey: .production)
            try container.encode(successRate, forKey: .successRate)
            try container.encode(averageBuildDurationMs, forKey: .averageBuildDurationMs)
            try container.encode(medianBuildDurationMs, forKey: .medianBuildDurationMs)
            try container.encode(p95BuildDurationMs, forKey: .p95BuildDurationMs)
        }
    }

    /// Counts by state, the success rate of the builds that finished, and build times of the READY
    /// ones, over the last 30 days.
    public func stats(_ projectID: UUID) throws -> Stats {
        let row = try database.query(
            """
            SELECT count(*) AS total,
              count(*) FILTER (WHERE deployment_state = 'READY') AS ready,
              count(*) FILTER (WHERE deployment_state = 'ERROR') AS error,
              count(*) FILTER (WHERE deployment_state = 'CANCELED') AS canceled,
              count(*) FILTER (WHERE deployment_state IN ('QUEUED', 'INITIALIZING', 'BUILDING', 'BLOCKED')) AS in_progress,
              count(*) FILTER (WHERE deployment_type = 'PRODUCTION') AS production,
              round(avg(build_duration_ms) FILTER (WHERE deployment_state = 'READY'))::bigint AS average_ms,
              round(percentile_cont(0.5) WITHIN GROUP (ORDER BY build_duration_ms)
                FILTER (WHERE deployment_state = 'READY'))::bigint AS median_ms,
              round(percentile_cont(0.95) WITHIN GROUP (ORDER BY build_duration_ms)
                FILTER (WHERE deployment_state = 'READY'))::bigint AS p95_ms
            FROM vercel_deployments
            WHERE project_id = \(projectID) AND created_at >= now() - interval '30 days'
            """)[0]
        let ready: Int = try row.decode("ready")
        let failed: Int = try row.decode("error")
        return Stats(
            periodDays: 30, total: try row.decode("total"), ready: ready, error: failed,
            canceled: try row.decode("canceled"),
            inProgress: try row.decode("in_progress"), production: try row.decode("production"),
            successRate: ready + failed == 0 ? nil : (Double(ready) / Double(ready + failed) * 1000).rounded() / 1000,
            averageBuildDurationMs: try row.decodeIfPresent("average_ms"),
            medianBuildDurationMs: try row.decodeIfPresent("median_ms"),
            p95BuildDurationMs: try row.decodeIfPresent("p95_ms"))
    }

    /// Deployments still in progress whose row has not changed for `olderThan`, oldest first.
    public func stale(olderThan: Duration, limit: Int) throws -> [(deploymentID: String, projectID: UUID)] {
        try database.query(
            """
            SELECT deployment_id, project_id FROM vercel_deployments
            WHERE deployment_state IN ('QUEUED', 'INITIALIZING', 'BUILDING')
              AND updated_at < now() - make_interval(secs => \(Int(olderThan.components.seconds)))
            ORDER BY updated_at LIMIT \(limit)
            """
        ).map { (try $0.decode("deployment_id"), try $0.decode("project_id")) }
    }
}
