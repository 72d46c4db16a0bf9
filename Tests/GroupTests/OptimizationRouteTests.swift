import Foundation
import OptimizationGroup
import Platform
import PlatformHost
import Testing

/// Every route of the `optimization` group, called in process over seeded builds: each answers
/// from the database alone (no Vercel call), refuses bad input, and stays within its round trips.
@Suite(.serialized) struct OptimizationRouteTests {
    let harness: GroupHarness
    let user: UUID
    let project: UUID

    init() throws {
        harness = try GroupHarness(OptimizationGroup.group)
        user = try harness.user()
        project = try harness.project(of: user)
        try harness.link(project, connection: try harness.connect(user))
        try harness.db.execute(
            """
            INSERT INTO vercel_build_metrics (project_id, deployment_id, framework, deployment_type, outcome, queue_ms,
              build_duration_ms, error_code, error_step, created_at, recorded_at)
            SELECT \(project), 'dpl_opt_' || i, 'nextjs',
                   CASE WHEN i % 3 = 0 THEN 'PRODUCTION' ELSE 'PREVIEW' END::vercel_deploy_type,
                   CASE WHEN i % 5 = 0 THEN 'ERROR' ELSE 'READY' END::vercel_deploy_state, 1000 + i, 60000 + i * 100,
                   CASE WHEN i % 5 = 0 THEN 'BUILD_FAILED' END, CASE WHEN i % 5 = 0 THEN 'BUILD' END,
                   now() - i * interval '1 hour', now() - i * interval '1 hour'
            FROM generate_series(1, 30) AS i
            """)
    }

    var base: String { "/v1/projects/\(project.uuidString.lowercased())/vercel/optimization" }

    @Test(arguments: ["history", "benchmarks", "analysis", "trends", "recommendations"])
    func eachRouteAnswersFromTheDatabaseAlone(route: String) throws {
        defer { harness.drop() }
        let answer = try harness.call("GET", "\(base)/\(route)", as: user)
        #expect(answer.status == 200, "\(route): \(answer.text)")
        #expect(!answer.json.isEmpty, "\(route)")
        #expect(harness.vercel.sent.isEmpty, "\(route) called Vercel")
        #expect(answer.statements <= 10, "\(route) took \(answer.statements) round trips")
    }

    @Test func theHistoryIsPagedNewestFirstAndRefusesBadLimitsAndCursors() throws {
        defer { harness.drop() }
        let first = try harness.call("GET", "\(base)/history?limit=10", as: user)
        let builds = try #require(first.json["history"] as? [[String: Any]], "\(first.text)")
        #expect(builds.count == 10 && builds.first?["deploymentId"] as? String == "dpl_opt_1")
        let next = try #require((first.json["pagination"] as? [String: Any])?["next"] as? String)
        let second = try harness.call("GET", "\(base)/history?limit=10&cursor=\(next)", as: user)
        #expect((second.json["history"] as? [[String: Any]])?.first?["deploymentId"] as? String == "dpl_opt_11")
        let tooMany = try harness.call("GET", "\(base)/history?limit=101", as: user)
        #expect(tooMany.code == "INVALID_LIMIT" && tooMany.json["max"] as? Int == 100)
        #expect(try harness.call("GET", "\(base)/history?cursor=nope", as: user).code == "INVALID_CURSOR")
    }

    @Test func aWindowOutOfItsRangeIsRefusedNamingTheParameterAndTheRange() throws {
        defer { harness.drop() }
        let days = try harness.call("GET", "\(base)/analysis?days=366", as: user)
        #expect(days.code == "INVALID_WINDOW" && days.json["max"] as? Int == 365, "\(days.text)")
        #expect(days.json["error"] as? String == "days must be 1 to 365")
        let weeks = try harness.call("GET", "\(base)/trends?weeks=105", as: user)
        #expect(weeks.code == "INVALID_WINDOW" && weeks.json["max"] as? Int == 104, "\(weeks.text)")
        #expect(weeks.json["error"] as? String == "weeks must be 1 to 104")
        let fine = try harness.call("GET", "\(base)/trends?weeks=104", as: user)
        #expect(fine.status == 200 && (fine.json["weeks"] as? [Any])?.count == 104)
    }
}
