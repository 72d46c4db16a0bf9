import Kernel
import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `GET …/optimization/benchmarks`: where this project's median build time over the last 30 days
/// ranks among the platform's projects building the same framework. Figures only: no other project
/// is named, and nothing is shown for a cohort under 5 projects (one project's times could be read
/// off a smaller one). The others' medians are kept per framework and computed again at most every
/// ten minutes; this project's own is read live.
public enum BuildBenchmarks {
    static let windowDays = 30
    static let smallestCohort = 5
    /// How old the kept cohort may be before a request computes it again.
    static let cohortLifetimeSeconds = 600

    /// Recomputes the framework's cohort when it is missing or older than its lifetime; one request
    /// does it (the others read what is kept, a little old) under a transaction lock.
    static func refreshCohort(_ framework: String, _ database: PostgresConnection) throws {
        let fresh =
            try database.query(
                """
                SELECT max(computed_at) > now() - make_interval(secs => \(cohortLifetimeSeconds)) AS fresh
                FROM vercel_build_cohort_medians WHERE framework = \(framework)
                """)[0]["fresh"] == "t"
        guard !fresh else { return }
        try database.transaction {
            let locked =
                try database.query(
                    "SELECT pg_try_advisory_xact_lock(hashtextextended('sheen.vercel.cohort.' || \(framework), 0)) AS locked"
                )[0]["locked"] == "t"
            guard locked else { return }
            try database.execute("DELETE FROM vercel_build_cohort_medians WHERE framework = \(framework)")
            try database.execute(
                """
                INSERT INTO vercel_build_cohort_medians (framework, project_id, median_ms)
                SELECT \(framework), project_id, percentile_cont(0.5) WITHIN GROUP (ORDER BY build_duration_ms)
                FROM vercel_build_metrics
                WHERE framework = \(framework) AND outcome = 'READY' AND build_duration_ms IS NOT NULL
                  AND recorded_at > now() - make_interval(days => \(windowDays))
                GROUP BY project_id
                """)
        }
    }

    public struct Answer: Encodable, Sendable {
        let framework: Nullable<String>
        let windowDays: Int
        let cohortSize: Int
        let available: Bool
        let reason: Nullable<String>
        let medianBuildMs: Nullable<Int>
        /// 1 for the fastest median of the cohort.
        let rank: Nullable<Int>
        /// The share of the other projects of the cohort whose median build is slower, in percent.
        let fasterThanPercent: Nullable<Double>
    }

    /// Where `project` ranks in its framework's cohort.
    static func answer(_ project: UUID, _ database: PostgresConnection) throws -> Answer {
        // The framework this project built most in the window.
        let framework: String? = try database.query(
            """
            SELECT framework FROM vercel_build_metrics
            WHERE project_id = \(project) AND framework IS NOT NULL
              AND recorded_at > now() - make_interval(days => \(windowDays))
            GROUP BY framework ORDER BY count(*) DESC, framework LIMIT 1
            """
        ).first?["framework"]
        guard let framework else {
            return Answer(
                framework: Nullable(nil), windowDays: windowDays, cohortSize: 0, available: false,
                reason: Nullable("no build of this project in the last \(windowDays) days"),
                medianBuildMs: Nullable(nil), rank: Nullable(nil), fasterThanPercent: Nullable(nil))
        }
        try refreshCohort(framework, database)
        // This project's own median is read live; the others' from the kept cohort.
        let row = try database.query(
            """
            WITH mine AS (
              SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY build_duration_ms) AS median
              FROM vercel_build_metrics
              WHERE project_id = \(project) AND framework = \(framework) AND outcome = 'READY'
                AND build_duration_ms IS NOT NULL AND recorded_at > now() - make_interval(days => \(windowDays)))
            SELECT (SELECT count(*) FROM vercel_build_cohort_medians WHERE framework = \(framework) AND project_id <> \(project))
                     + (SELECT count(*) FROM mine WHERE median IS NOT NULL) AS cohort,
                   (SELECT round(median)::int FROM mine) AS median,
                   (SELECT count(*) FROM vercel_build_cohort_medians c, mine
                    WHERE c.framework = \(framework) AND c.project_id <> \(project) AND c.median_ms < mine.median) AS faster,
                   (SELECT count(*) FROM vercel_build_cohort_medians c, mine
                    WHERE c.framework = \(framework) AND c.project_id <> \(project) AND c.median_ms > mine.median) AS slower
            """)[0]
        let cohort: Int = try row.decode("cohort")
        let median: Int? = try row.decodeIfPresent("median")
        guard cohort >= smallestCohort, let median else {
            return Answer(
                framework: Nullable(framework), windowDays: windowDays, cohortSize: cohort, available: false,
                reason: Nullable(
                    median == nil
                        ? "no READY build of this project in the last \(windowDays) days"
                        : "fewer than \(smallestCohort) projects build \(framework): nothing is shown"),
                medianBuildMs: Nullable(median), rank: Nullable(nil), fasterThanPercent: Nullable(nil))
        }
        let faster: Int = try row.decode("faster")
        let slower: Int = try row.decode("slower")
        return Answer(
            framework: Nullable(framework), windowDays: windowDays, cohortSize: cohort, available: true,
            reason: Nullable(nil), medianBuildMs: Nullable(median), rank: Nullable(faster + 1),
            fasterThanPercent: Nullable((Double(slower) * 1000 / Double(cohort - 1)).rounded() / 10))
    }
}
