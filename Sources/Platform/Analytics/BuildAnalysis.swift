import Kernel
import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `GET …/optimization/analysis?days=`: the project's builds over a window (30 days by default):
/// outcomes and success rate, queue, build and time-to-READY percentiles by target, the most
/// frequent failures, and the DORA measures as defined in `definitions`. Statistics a user can
/// check: each figure is one SQL aggregate over the rows the other routes show.
public enum BuildAnalysis {
    struct Percentiles: Encodable {
        let p50: Nullable<Int>
        let p95: Nullable<Int>
    }

    struct TargetFigures: Encodable {
        let builds: Int
        let queueMs: Percentiles
        let buildMs: Percentiles
        let timeToReadyMs: Percentiles
    }

    struct Failure: Encodable {
        let errorCode: Nullable<String>
        let errorStep: Nullable<String>
        let count: Int
    }

    struct Dora: Encodable {
        let deploymentFrequencyPerDay: Double
        let leadTimeForChangesMs: Nullable<Int>
        let leadTimeSampleSize: Int
        let leadTimeNote: String
        let changeFailureRate: Nullable<Double>
        let failedDeploymentRecoveryTimeMs: Nullable<Int>
    }

    public struct Answer: Encodable, Sendable {
        let windowDays: Int
        let outcomes: [String: Int]
        let successRate: Nullable<Double>
        let byTarget: [String: TargetFigures]
        let topFailures: [Failure]
        let dora: Dora
        let definitions: [String: String]
    }

    static let definitions = [
        "successRate": "READY builds ÷ (READY + ERROR) builds in the window; canceled builds are left out",
        "timeToReadyMs":
            "queue time + build time of a READY build (Vercel's buildingAt − createdAt, then ready − buildingAt)",
        "percentiles": "continuous percentiles (linear interpolation) over the window's builds",
        "deploymentFrequencyPerDay": "production deployments that became READY in the window ÷ the window's days",
        "leadTimeForChangesMs":
            "median time from a change's commit (its time as the git provider reported it) to its production deployment becoming READY, over the window's READY production deployments that name a commit time (those deployed from git deliveries and approvals); null when none does",
        "changeFailureRate":
            "share of the window's READY production deployments followed within 24 h by a rollback away from them or a failed production deployment",
        "failedDeploymentRecoveryTimeMs":
            "median time from a failed production deployment to the next production deployment that became READY",
    ]

    /// The days a window may span.
    public static let windows = 1...365

    /// The figures of `project`'s builds over the last `days` days.
    static func answer(_ project: UUID, days: Int, _ database: PostgresConnection) throws -> Answer {

        var outcomes = ["READY": 0, "ERROR": 0, "CANCELED": 0]
        for row in try database.query(
            """
            SELECT outcome::text AS outcome, count(*) AS n FROM vercel_build_metrics
            WHERE project_id = \(project) AND recorded_at > now() - make_interval(days => \(days))
            GROUP BY outcome
            """)
        {
            outcomes[try row.decode("outcome"), default: 0] = try row.decode("n")
        }
        let decided = (outcomes["READY"] ?? 0) + (outcomes["ERROR"] ?? 0)

        var byTarget: [String: TargetFigures] = [:]
        for row in try database.query(
            """
            SELECT lower(deployment_type::text) AS target, count(*) AS builds,
              round(percentile_cont(0.5) WITHIN GROUP (ORDER BY queue_ms))::int AS queue_p50,
              round(percentile_cont(0.95) WITHIN GROUP (ORDER BY queue_ms))::int AS queue_p95,
              round(percentile_cont(0.5) WITHIN GROUP (ORDER BY build_duration_ms))::int AS build_p50,
              round(percentile_cont(0.95) WITHIN GROUP (ORDER BY build_duration_ms))::int AS build_p95,
              round(percentile_cont(0.5) WITHIN GROUP (ORDER BY queue_ms + build_duration_ms)
                FILTER (WHERE outcome = 'READY'))::int AS ready_p50,
              round(percentile_cont(0.95) WITHIN GROUP (ORDER BY queue_ms + build_duration_ms)
                FILTER (WHERE outcome = 'READY'))::int AS ready_p95
            FROM vercel_build_metrics
            WHERE project_id = \(project) AND recorded_at > now() - make_interval(days => \(days))
              AND deployment_type IS NOT NULL
            GROUP BY deployment_type
            """)
        {
            byTarget[try row.decode("target")] = TargetFigures(
                builds: try row.decode("builds"),
                queueMs: Percentiles(
                    p50: Nullable(try row.decodeIfPresent("queue_p50")),
                    p95: Nullable(try row.decodeIfPresent("queue_p95"))),
                buildMs: Percentiles(
                    p50: Nullable(try row.decodeIfPresent("build_p50")),
                    p95: Nullable(try row.decodeIfPresent("build_p95"))),
                timeToReadyMs: Percentiles(
                    p50: Nullable(try row.decodeIfPresent("ready_p50")),
                    p95: Nullable(try row.decodeIfPresent("ready_p95"))))
        }

        let failures = try database.query(
            """
            SELECT error_code, error_step, count(*) AS n FROM vercel_build_metrics
            WHERE project_id = \(project) AND recorded_at > now() - make_interval(days => \(days)) AND outcome = 'ERROR'
            GROUP BY error_code, error_step ORDER BY n DESC, error_code NULLS LAST, error_step NULLS LAST LIMIT 5
            """
        ).map {
            Failure(
                errorCode: Nullable(try $0.decodeIfPresent("error_code")),
                errorStep: Nullable(try $0.decodeIfPresent("error_step")), count: try $0.decode("n"))
        }

        let dora = try database.query(
            """
            WITH production AS (
              SELECT deployment_id, deployment_state, created_at, ready_at, coalesce(completed_at, updated_at) AS ended_at,
                (git_source->>'committedAt')::timestamptz AS committed_at
              FROM vercel_deployments
              WHERE project_id = \(project) AND deployment_type = 'PRODUCTION'
                AND created_at > now() - make_interval(days => \(days)) - interval '1 day'),
            ready AS (SELECT * FROM production WHERE deployment_state = 'READY' AND ready_at IS NOT NULL
                      AND ready_at > now() - make_interval(days => \(days))),
            failed_after AS (
              SELECT r.deployment_id,
                EXISTS (SELECT 1 FROM vercel_production_history h
                        WHERE h.project_id = \(project) AND h.action = 'rollback'
                          AND h.previous_deployment_id = r.deployment_id
                          AND h.created_at > r.ready_at AND h.created_at <= r.ready_at + interval '24 hours')
                OR EXISTS (SELECT 1 FROM production f
                           WHERE f.deployment_state = 'ERROR' AND f.created_at > r.ready_at
                             AND f.created_at <= r.ready_at + interval '24 hours') AS failed
              FROM ready r),
            recoveries AS (
              SELECT (SELECT min(n.ready_at) FROM production n
                      WHERE n.deployment_state = 'READY' AND n.ready_at > f.ended_at) - f.ended_at AS recovery
              FROM production f
              WHERE f.deployment_state = 'ERROR' AND f.created_at > now() - make_interval(days => \(days)))
            SELECT (SELECT count(*) FROM ready) AS ready_count,
                   (SELECT count(*) FILTER (WHERE failed) FROM failed_after) AS failed_count,
                   (SELECT round(extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY recovery)) * 1000)::bigint
                    FROM recoveries WHERE recovery IS NOT NULL) AS recovery_ms,
                   (SELECT round(extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY ready_at - committed_at)) * 1000)::bigint
                    FROM ready WHERE committed_at <= ready_at) AS lead_ms,
                   (SELECT count(*) FROM ready WHERE committed_at <= ready_at) AS lead_n
            """)[0]
        let readyCount: Int = try dora.decode("ready_count")
        let failedCount: Int = try dora.decode("failed_count")
        let recovery: Int64? = try dora.decodeIfPresent("recovery_ms")
        let lead: Int64? = try dora.decodeIfPresent("lead_ms")
        let leadSample: Int = try dora.decode("lead_n")

        return Answer(
            windowDays: days, outcomes: outcomes,
            successRate: Nullable(
                decided == 0 ? nil : Self.rounded(Double(outcomes["READY"] ?? 0) / Double(decided))),
            byTarget: byTarget, topFailures: failures,
            dora: Dora(
                deploymentFrequencyPerDay: Self.rounded(Double(readyCount) / Double(days)),
                leadTimeForChangesMs: Nullable(lead.map { Int($0) }), leadTimeSampleSize: leadSample,
                leadTimeNote:
                    "Over the \(leadSample) READY production deployments whose commit time the git provider reported; deployments made from files or without a commit time are left out",
                changeFailureRate: Nullable(
                    readyCount == 0 ? nil : Self.rounded(Double(failedCount) / Double(readyCount))),
                failedDeploymentRecoveryTimeMs: Nullable(recovery.map { Int($0) })),
            definitions: definitions)
    }

    /// Four decimals.
    public static func rounded(_ value: Double) -> Double { (value * 10_000).rounded() / 10_000 }
}
