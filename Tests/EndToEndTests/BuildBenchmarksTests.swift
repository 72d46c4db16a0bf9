import Foundation
import Postgres
import TestSupport
import Testing

/// `GET …/optimization/benchmarks` through nginx: a project's median build time ranked among the
/// projects of its framework, from figures worked out by hand; nothing for a cohort under five.
@Suite struct BuildBenchmarksTests {
    let client: StackClient
    let fixtures = StackFixtures()

    init() throws {
        client = try StackClient()
    }

    /// A project of `owner` with READY builds of `framework` taking `builds` milliseconds, recorded
    /// in the last days.
    func project(_ owner: UUID, _ framework: String, _ builds: [Int]) throws -> UUID {
        let project = try fixtures.project(owner: owner)
        for (index, ms) in builds.enumerated() {
            try fixtures.db.execute(
                """
                INSERT INTO vercel_build_metrics (project_id, deployment_id, framework, deployment_type, outcome,
                  build_duration_ms, recorded_at)
                VALUES (\(project), \("dpl_bench_\(UUID().uuidString.prefix(12))"), \(framework), 'PREVIEW', 'READY', \(ms),
                  now() - \(index) * interval '1 hour')
                """)
        }
        return project
    }

    @Test func aProjectIsRankedAmongItsFrameworksProjects() async throws {
        let owner = try fixtures.user()
        let framework = "fw-\(UUID().uuidString.prefix(8).lowercased())"
        // Medians 200, 150, 450, 60, 1000 — and this project's 300.
        for builds in [[100, 200, 300], [150], [400, 500], [50, 60, 70], [1000]] {
            _ = try project(owner, framework, builds)
        }
        let mine = try project(owner, framework, [250, 300, 350])
        // Neither a failed build nor one older than the window counts.
        try fixtures.db.execute(
            """
            INSERT INTO vercel_build_metrics (project_id, deployment_id, framework, outcome, build_duration_ms, recorded_at)
            VALUES (\(mine), \("dpl_bench_err_\(UUID().uuidString.prefix(8))"), \(framework), 'ERROR', 5, now()),
                   (\(mine), \("dpl_bench_old_\(UUID().uuidString.prefix(8))"), \(framework), 'READY', 1, now() - interval '40 days')
            """)
        let reply = try await client.signed(
            "GET", "/v1/projects/\(mine)/vercel/optimization/benchmarks?userId=\(owner)")
        #expect(reply.status == 200, "\(reply.text)")
        #expect(reply.json?["available"] as? Bool == true && reply.json?["cohortSize"] as? Int == 6)
        #expect(reply.json?["medianBuildMs"] as? Int == 300 && reply.json?["rank"] as? Int == 4)
        // Two of the five others (450 and 1000) are slower.
        #expect(reply.json?["fasterThanPercent"] as? Double == 40.0)
        #expect(reply.json?["framework"] as? String == framework)
        #expect(!reply.text.contains("dpl_bench"))
    }

    @Test func aCohortUnderFiveShowsNothing() async throws {
        let owner = try fixtures.user()
        let framework = "fw-\(UUID().uuidString.prefix(8).lowercased())"
        for builds in [[100], [200], [300]] { _ = try project(owner, framework, builds) }
        let mine = try project(owner, framework, [250])
        let reply = try await client.signed(
            "GET", "/v1/projects/\(mine)/vercel/optimization/benchmarks?userId=\(owner)")
        #expect(reply.json?["available"] as? Bool == false && reply.json?["cohortSize"] as? Int == 4, "\(reply.text)")
        #expect(reply.json?["rank"] is NSNull && reply.json?["fasterThanPercent"] is NSNull)
        let empty = try fixtures.project(owner: owner)
        let none = try await client.signed(
            "GET", "/v1/projects/\(empty)/vercel/optimization/benchmarks?userId=\(owner)")
        #expect(none.json?["available"] as? Bool == false && none.json?["cohortSize"] as? Int == 0)
    }
}
