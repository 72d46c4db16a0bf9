import Foundation
import Postgres
import TestSupport
import Testing

/// `GET …/optimization/history` through nginx: every build's figures newest first, a page at a
/// time, each page's rows the same as the database holds, none twice or missed.
@Suite struct BuildHistoryTests {
    let client: StackClient
    let fixtures = StackFixtures()

    init() throws {
        client = try StackClient()
    }

    @Test func thePagesWalkEveryBuildOnceNewestFirst() async throws {
        let user = try fixtures.user()
        let project = try fixtures.project(owner: user)
        // 25 builds, some recorded in the same microsecond (the cursor must still order them).
        try fixtures.db.execute(
            """
            INSERT INTO vercel_build_metrics (project_id, deployment_id, framework, deployment_type, outcome, queue_ms,
              build_duration_ms, error_code, error_step, created_at, recorded_at)
            SELECT \(project), 'dpl_hist_' || \(project.uuidString.prefix(8).lowercased()) || '_' || i, 'nextjs',
                   CASE WHEN i % 3 = 0 THEN 'PRODUCTION' ELSE 'PREVIEW' END::vercel_deploy_type,
                   CASE WHEN i % 5 = 0 THEN 'ERROR' ELSE 'READY' END::vercel_deploy_state, 1000 + i, 60000 + i * 100,
                   CASE WHEN i % 5 = 0 THEN 'BUILD_FAILED' END, CASE WHEN i % 5 = 0 THEN 'BUILD' END,
                   now() - interval '1 day', now() - (i / 2) * interval '1 minute'
            FROM generate_series(1, 25) AS i
            """)
        var seen: [String] = []
        var cursor: String?
        var pages = 0
        repeat {
            let target =
                "/v1/projects/\(project)/vercel/optimization/history?userId=\(user)&limit=10"
                + (cursor.map { "&cursor=\($0)" } ?? "")
            let reply = try await client.signed("GET", target)
            #expect(reply.status == 200, "\(reply.text)")
            let history = try #require(reply.json?["history"] as? [[String: Any]])
            seen += history.compactMap { $0["deploymentId"] as? String }
            for entry in history {
                let id = try #require(entry["deploymentId"] as? String)
                let row = try #require(
                    try fixtures.db.query(
                        """
                        SELECT queue_ms, build_duration_ms, outcome::text AS outcome, error_code
                        FROM vercel_build_metrics WHERE deployment_id = \(id)
                        """
                    ).first)
                #expect(entry["queueMs"] as? Int == (try row.decode("queue_ms", as: Int.self)))
                #expect(entry["buildMs"] as? Int == (try row.decode("build_duration_ms", as: Int.self)))
                let ready = row["outcome"] == "READY"
                #expect(
                    (entry["timeToReadyMs"] as? Int)
                        == (ready
                            ? try row.decode("queue_ms", as: Int.self) + row.decode("build_duration_ms", as: Int.self)
                            : nil))
                #expect(entry["errorCode"] as? String == row["error_code"])
            }
            cursor = (reply.json?["pagination"] as? [String: Any])?["next"] as? String
            pages += 1
        } while cursor != nil && pages < 10
        #expect(pages == 3 && seen.count == 25 && Set(seen).count == 25)
        let expected = try fixtures.db.query(
            "SELECT deployment_id FROM vercel_build_metrics WHERE project_id = \(project) ORDER BY recorded_at DESC, id DESC"
        ).map { try $0.decode("deployment_id", as: String.self) }
        #expect(seen == expected)

        let bad = try await client.signed(
            "GET", "/v1/projects/\(project)/vercel/optimization/history?userId=\(user)&cursor=nope")
        #expect(bad.status == 400 && bad.code == "INVALID_CURSOR")
        let big = try await client.signed(
            "GET", "/v1/projects/\(project)/vercel/optimization/history?userId=\(user)&limit=500")
        #expect(big.code == "INVALID_LIMIT")
        // Another user's project looks like none.
        let stranger = try fixtures.user()
        let foreign = try await client.signed(
            "GET", "/v1/projects/\(project)/vercel/optimization/history?userId=\(stranger)")
        #expect(foreign.status == 404)
    }
}
