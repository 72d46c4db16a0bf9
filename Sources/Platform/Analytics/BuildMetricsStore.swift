import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A project's build analytics, each answer read from `vercel_build_metrics` (which
/// `vercel-job-deployment-sync` writes) and the deployments beside it; nothing here calls Vercel.
public struct BuildMetricsStore {
    let database: PostgresConnection

    public init(database: PostgresConnection) {
        self.database = database
    }

    /// One page of finished builds, newest first.
    public func history(of project: UUID, limit: Int, after cursor: BuildHistory.Cursor?) throws -> BuildHistory.Page {
        try BuildHistory.page(project, limit: limit, after: cursor, database)
    }

    /// Outcomes, percentiles, top failures and the DORA measures over the last `days` days.
    public func analysis(of project: UUID, days: Int) throws -> BuildAnalysis.Answer {
        try BuildAnalysis.answer(project, days: days, database)
    }

    /// The analysis's figures week by week.
    public func trends(of project: UUID, weeks: Int) throws -> BuildTrends.Answer {
        try BuildTrends.answer(project, weeks: weeks, database)
    }

    /// Where the project's median build ranks among the projects building the same framework.
    public func benchmarks(of project: UUID) throws -> BuildBenchmarks.Answer {
        try BuildBenchmarks.answer(project, database)
    }

    /// The rules over the project's builds that found something, and those that could not be
    /// evaluated.
    public func recommendations(of project: UUID, linked: Bool) throws -> BuildRecommendations.Answer {
        try BuildRecommendations.answer(project, linked: linked, database)
    }
}
