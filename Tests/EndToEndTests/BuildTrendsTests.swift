import Foundation
import Postgres
import TestSupport
import Testing

/// `GET …/optimization/trends` through nginx: one entry per ISO week, oldest first, empty weeks
/// present, each week's figures the ones worked out by hand.
@Suite struct BuildTrendsTests {
    let client: StackClient
    let fixtures = StackFixtures()

    init() throws {
        client = try StackClient()
    }

    @Test func eachWeekHasItsOwnFigures() async throws {
        let owner = try fixtures.user()
        let project = try fixtures.project(owner: owner)
        // (days ago, outcome, build ms): this week three builds, last week one, none two weeks ago,
        // two three weeks ago. Seven days ago is always last week, whatever the weekday.
        let builds: [(Int, String, Int)] = [
            (0, "READY", 100), (0, "READY", 300), (0, "ERROR", 500), (7, "READY", 1000), (21, "READY", 400),
            (21, "READY", 600),
        ]
        for (daysAgo, outcome, ms) in builds {
            try fixtures.db.execute(
                """
                INSERT INTO vercel_build_metrics (project_id, deployment_id, deployment_type, outcome, queue_ms, build_duration_ms, recorded_at)
                VALUES (\(project), \("dpl_tr_\(UUID().uuidString.prefix(12))"), 'PREVIEW', \(outcome)::vercel_deploy_state, 10, \(ms),
                  now() - \(daysAgo) * interval '1 day')
                """)
        }
        try fixtures.db.execute(
            """
            INSERT INTO vercel_deployments (deployment_id, created_at, project_id, deployment_state, deployment_type, ready_at)
            VALUES (\("dpl_tr_prod_\(UUID().uuidString.prefix(8))"), now() - interval '7 days 1 hour', \(project), 'READY',
              'PRODUCTION', now() - interval '7 days')
            """)
        let reply = try await client.signed(
            "GET", "/v1/projects/\(project)/vercel/optimization/trends?userId=\(owner)&weeks=4")
        #expect(reply.status == 200, "\(reply.text)")
        let weeks = try #require(reply.json?["weeks"] as? [[String: Any]])
        #expect(weeks.count == 4)
        #expect(weeks.map { $0["builds"] as? Int } == [2, 0, 1, 3])
        #expect(weeks.map { $0["buildMsP50"] as? Int } == [500, nil, 1000, 300])
        #expect(weeks[1]["successRate"] is NSNull && weeks[3]["successRate"] as? Double == 0.6667)
        #expect(weeks.map { $0["productionDeployments"] as? Int } == [0, 0, 1, 0])
        let starts = weeks.compactMap { $0["weekStart"] as? String }
        #expect(starts == starts.sorted() && Set(starts).count == 4)
    }
}
