import FastCGI
import Platform
import Postgres

/// `GET …/optimization/benchmarks`: where this project's median build time over the last 30 days
/// ranks among the platform's projects building the same framework. Figures only: no other project
/// is named, and nothing is shown for a cohort under 5 projects (one project's times could be read
/// off a smaller one).
enum BuildBenchmarks {
    static let windowDays = 30
    static let smallestCohort = 5

    struct Answer: Encodable {
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

    @Sendable static func get(_ call: PlatformCall<NoInput>, _ context: RequestContext) throws -> Response {
        let project = call.projectID
        // The framework this project built most in the window.
        let framework: String? = try context.database.query(
            """
            SELECT framework FROM vercel_build_metrics
            WHERE project_id = \(project) AND framework IS NOT NULL
              AND recorded_at > now() - make_interval(days => \(windowDays))
            GROUP BY framework ORDER BY count(*) DESC, framework LIMIT 1
            """
        ).first?["framework"]
        guard let framework else {
            return .json(
                Answer(
                    framework: Nullable(nil), windowDays: windowDays, cohortSize: 0, available: false,
                    reason: Nullable("no build of this project in the last \(windowDays) days"),
                    medianBuildMs: Nullable(nil), rank: Nullable(nil), fasterThanPercent: Nullable(nil)))
        }
        let row = try context.database.query(
            """
            WITH medians AS (
              SELECT project_id, percentile_cont(0.5) WITHIN GROUP (ORDER BY build_duration_ms) AS median
              FROM vercel_build_metrics
              WHERE framework = \(framework) AND outcome = 'READY' AND build_duration_ms IS NOT NULL
                AND recorded_at > now() - make_interval(days => \(windowDays))
              GROUP BY project_id),
            mine AS (SELECT median FROM medians WHERE project_id = \(project))
            SELECT (SELECT count(*) FROM medians) AS cohort, (SELECT round(median)::int FROM mine) AS median,
                   (SELECT count(*) FROM medians, mine WHERE medians.median < mine.median) AS faster,
                   (SELECT count(*) FROM medians, mine WHERE medians.median > mine.median) AS slower
            """)[0]
        let cohort: Int = try row.decode("cohort")
        let median: Int? = try row.decodeIfPresent("median")
        guard cohort >= smallestCohort, let median else {
            return .json(
                Answer(
                    framework: Nullable(framework), windowDays: windowDays, cohortSize: cohort, available: false,
                    reason: Nullable(
                        median == nil
                            ? "no READY build of this project in the last \(windowDays) days"
                            : "fewer than \(smallestCohort) projects build \(framework): nothing is shown"),
                    medianBuildMs: Nullable(median), rank: Nullable(nil), fasterThanPercent: Nullable(nil)))
        }
        let faster: Int = try row.decode("faster")
        let slower: Int = try row.decode("slower")
        return .json(
            Answer(
                framework: Nullable(framework), windowDays: windowDays, cohortSize: cohort, available: true,
                reason: Nullable(nil), medianBuildMs: Nullable(median), rank: Nullable(faster + 1),
                fasterThanPercent: Nullable((Double(slower) * 1000 / Double(cohort - 1)).rounded() / 10)))
    }
}
