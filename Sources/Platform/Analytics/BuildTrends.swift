import Kernel
import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `GET …/optimization/trends?weeks=`: the analysis's figures week by week (ISO weeks, Monday
/// 00:00 UTC), oldest first, the current week included: builds, success rate, build, queue and
/// time-to-READY medians and 95th percentiles, and production deployments that became READY. A week
/// without builds is present with zero builds and null figures, so a chart has no holes.
public enum BuildTrends {
    struct Week: Encodable {
        let weekStart: String
        let builds: Int
        let successRate: Nullable<Double>
        let buildMsP50: Nullable<Int>
        let buildMsP95: Nullable<Int>
        let queueMsP50: Nullable<Int>
        let timeToReadyMsP50: Nullable<Int>
        let productionDeployments: Int
    }

    public struct Answer: Encodable, Sendable {
        let weeks: [Week]
    }

    /// The weeks a chart may span.
    public static let windows = 1...104

    /// `project`'s last `weeks` weeks, oldest first.
    static func answer(_ project: UUID, weeks: Int, _ database: PostgresConnection) throws -> Answer {
        let rows = try database.query(
            """
            WITH weeks AS (
              SELECT generate_series(date_trunc('week', now() AT TIME ZONE 'UTC') - (\(weeks) - 1) * interval '1 week',
                                     date_trunc('week', now() AT TIME ZONE 'UTC'), interval '1 week') AS week_start),
            builds AS (
              SELECT date_trunc('week', recorded_at AT TIME ZONE 'UTC') AS week_start, outcome, queue_ms, build_duration_ms
              FROM vercel_build_metrics
              WHERE project_id = \(project)
                AND recorded_at >= (date_trunc('week', now() AT TIME ZONE 'UTC') - (\(weeks) - 1) * interval '1 week') AT TIME ZONE 'UTC'),
            deployed AS (
              SELECT date_trunc('week', ready_at AT TIME ZONE 'UTC') AS week_start, count(*) AS n
              FROM vercel_deployments
              WHERE project_id = \(project) AND deployment_type = 'PRODUCTION' AND deployment_state = 'READY'
                AND ready_at >= (date_trunc('week', now() AT TIME ZONE 'UTC') - (\(weeks) - 1) * interval '1 week') AT TIME ZONE 'UTC'
              GROUP BY 1)
            SELECT to_char(w.week_start, 'YYYY-MM-DD') AS week, count(b.outcome) AS builds,
              count(*) FILTER (WHERE b.outcome = 'READY') AS ready, count(*) FILTER (WHERE b.outcome = 'ERROR') AS failed,
              round(percentile_cont(0.5) WITHIN GROUP (ORDER BY b.build_duration_ms))::int AS build_p50,
              round(percentile_cont(0.95) WITHIN GROUP (ORDER BY b.build_duration_ms))::int AS build_p95,
              round(percentile_cont(0.5) WITHIN GROUP (ORDER BY b.queue_ms))::int AS queue_p50,
              round(percentile_cont(0.5) WITHIN GROUP (ORDER BY b.queue_ms + b.build_duration_ms)
                FILTER (WHERE b.outcome = 'READY'))::int AS ready_p50,
              coalesce(max(d.n), 0) AS deployed
            FROM weeks w
            LEFT JOIN builds b ON b.week_start = w.week_start
            LEFT JOIN deployed d ON d.week_start = w.week_start
            GROUP BY w.week_start ORDER BY w.week_start
            """)
        return Answer(
            weeks: try rows.map { row in
                let ready: Int = try row.decode("ready")
                let failed: Int = try row.decode("failed")
                return Week(
                    weekStart: try row.decode("week"), builds: try row.decode("builds"),
                    successRate: Nullable(
                        ready + failed == 0
                            ? nil : BuildAnalysis.rounded(Double(ready) / Double(ready + failed))),
                    buildMsP50: Nullable(try row.decodeIfPresent("build_p50")),
                    buildMsP95: Nullable(try row.decodeIfPresent("build_p95")),
                    queueMsP50: Nullable(try row.decodeIfPresent("queue_p50")),
                    timeToReadyMsP50: Nullable(try row.decodeIfPresent("ready_p50")),
                    productionDeployments: try row.decode("deployed"))
            })
    }
}
