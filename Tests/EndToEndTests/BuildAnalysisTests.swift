import Foundation
import Postgres
import TestSupport
import Testing

/// `GET …/optimization/analysis` through nginx on seeded builds and deployments: every figure is
/// the one worked out by hand here (continuous percentiles interpolate linearly between ranks).
@Suite struct BuildAnalysisTests {
    let client: StackClient
    let fixtures = StackFixtures()

    init() throws {
        client = try StackClient()
    }

    /// The continuous percentile `p` of `values`, as SQL's percentile_cont computes it.
    static func percentile(_ p: Double, _ values: [Double]) -> Int {
        let sorted = values.sorted()
        let position = p * Double(sorted.count - 1)
        let low = Int(position.rounded(.down))
        let high = min(low + 1, sorted.count - 1)
        return Int((sorted[low] + (sorted[high] - sorted[low]) * (position - Double(low))).rounded())
    }

    func build(
        _ project: UUID, _ target: String, _ outcome: String, queue: Int, build: Int, code: String? = nil,
        daysAgo: Int = 1
    ) throws {
        try fixtures.db.execute(
            """
            INSERT INTO vercel_build_metrics (project_id, deployment_id, deployment_type, outcome, queue_ms,
              build_duration_ms, error_code, error_step, recorded_at)
            VALUES (\(project), \("dpl_an_\(UUID().uuidString.prefix(12))"), \(target)::vercel_deploy_type,
              \(outcome)::vercel_deploy_state, \(queue), \(build), \(code), \(code == nil ? nil : "BUILD"),
              now() - \(daysAgo) * interval '1 day')
            """)
    }

    /// A production deployment `hours` before `base` (READY then, or ERROR ending then), of a
    /// commit made `committedBefore` hours before that when given (as git deliveries record it).
    func deployment(
        _ project: UUID, _ id: String, _ state: String, hoursAgo: Double, base: String, committedBefore: Double? = nil
    ) throws {
        try fixtures.db.execute(
            """
            INSERT INTO vercel_deployments (deployment_id, created_at, project_id, deployment_state, deployment_type, ready_at,
              completed_at, git_source)
            VALUES (\(id), \(base)::timestamptz - (\(hoursAgo) + 0.5) * interval '1 hour', \(project),
              \(state)::vercel_deploy_state, 'PRODUCTION',
              CASE WHEN \(state) = 'READY' THEN \(base)::timestamptz - \(hoursAgo) * interval '1 hour' END,
              \(base)::timestamptz - \(hoursAgo) * interval '1 hour',
              CASE WHEN \(committedBefore)::float8 IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('branch', 'main',
                'committedAt', to_char((\(base)::timestamptz - (\(hoursAgo) + \(committedBefore)::float8) * interval '1 hour')
                  AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')) END)
            """)
    }

    @Test func theFiguresAreTheOnesWorkedOutByHand() async throws {
        let owner = try fixtures.user()
        let project = try fixtures.project(owner: owner)
        let productionReady = [(1000, 10000), (2000, 20000), (3000, 30000), (4000, 40000)]
        for (queue, ms) in productionReady { try build(project, "PRODUCTION", "READY", queue: queue, build: ms) }
        try build(project, "PRODUCTION", "ERROR", queue: 500, build: 5000, code: "BUILD_FAILED")
        try build(project, "PREVIEW", "READY", queue: 100, build: 1000)
        try build(project, "PREVIEW", "READY", queue: 300, build: 3000)
        try build(project, "PREVIEW", "ERROR", queue: 200, build: 2000, code: "OOM")
        try build(project, "PREVIEW", "ERROR", queue: 400, build: 4000, code: "OOM")
        try build(project, "PREVIEW", "CANCELED", queue: 50, build: 500)
        try build(project, "PRODUCTION", "READY", queue: 1, build: 1, daysAgo: 40)  // outside the window

        let tag = UUID().uuidString.prefix(8).lowercased()
        // One instant for all of them, so the hours between them are exact.
        let base: String = try fixtures.db.query("SELECT date_trunc('second', now())::text AS t")[0].decode("t")
        try deployment(project, "dpl_d1_\(tag)", "READY", hoursAgo: 240, base: base, committedBefore: 3)
        try deployment(project, "dpl_d2_\(tag)", "READY", hoursAgo: 192, base: base, committedBefore: 1)
        try deployment(project, "dpl_d3_\(tag)", "ERROR", hoursAgo: 189, base: base)  // fails 3 h after d2
        try deployment(project, "dpl_d4_\(tag)", "READY", hoursAgo: 187, base: base)  // recovers 2 h later
        try deployment(project, "dpl_d5_\(tag)", "READY", hoursAgo: 48, base: base, committedBefore: 5)
        try fixtures.db.execute(
            """
            INSERT INTO vercel_production_history (project_id, vercel_project_id, deployment_id, action, previous_deployment_id, created_at)
            VALUES (\(project), 'prj_an', \("dpl_d4_\(tag)"), 'rollback', \("dpl_d5_\(tag)"), now() - interval '47 hours')
            """)

        let reply = try await client.signed(
            "GET", "/v1/projects/\(project)/vercel/optimization/analysis?userId=\(owner)")
        #expect(reply.status == 200, "\(reply.text)")
        let json = try #require(reply.json)
        #expect(json["outcomes"] as? [String: Int] == ["READY": 6, "ERROR": 3, "CANCELED": 1])
        #expect(json["successRate"] as? Double == 0.6667)
        let targets = try #require(json["byTarget"] as? [String: [String: Any]])
        func figures(_ target: String, _ name: String) -> [Int?] {
            let entry = targets[target]?[name] as? [String: Any]
            return [entry?["p50"] as? Int, entry?["p95"] as? Int]
        }
        let productionQueue = [500.0, 1000, 2000, 3000, 4000]
        let productionBuild = [5000.0, 10000, 20000, 30000, 40000]
        let productionReadyTimes = productionReady.map { Double($0.0 + $0.1) }
        #expect(targets["production"]?["builds"] as? Int == 5)
        #expect(
            figures("production", "queueMs") == [
                Self.percentile(0.5, productionQueue), Self.percentile(0.95, productionQueue),
            ])
        #expect(
            figures("production", "buildMs") == [
                Self.percentile(0.5, productionBuild), Self.percentile(0.95, productionBuild),
            ])
        #expect(
            figures("production", "timeToReadyMs")
                == [Self.percentile(0.5, productionReadyTimes), Self.percentile(0.95, productionReadyTimes)])
        #expect(figures("production", "timeToReadyMs") == [27500, 42350])
        #expect(figures("preview", "queueMs") == [200, 380] && figures("preview", "timeToReadyMs") == [2200, 3190])
        let failures = try #require(json["topFailures"] as? [[String: Any]])
        #expect(failures.map { $0["errorCode"] as? String } == ["OOM", "BUILD_FAILED"])
        #expect(failures.map { $0["count"] as? Int } == [2, 1])

        let dora = try #require(json["dora"] as? [String: Any])
        // Four production deployments became READY in 30 days; d2 (a failure 3 h later) and d5 (rolled
        // back from an hour later) were followed by failure; d3 recovered in 2 hours.
        #expect(dora["deploymentFrequencyPerDay"] as? Double == 0.1333)
        #expect(dora["changeFailureRate"] as? Double == 0.5)
        #expect(dora["failedDeploymentRecoveryTimeMs"] as? Int == 7_200_000)
        // d1, d2 and d5 name their commits' times (3 h, 1 h and 5 h before READY); d4 names none.
        #expect(dora["leadTimeForChangesMs"] as? Int == 10_800_000)
        #expect(dora["leadTimeSampleSize"] as? Int == 3)
        let recomputed: Int64 = try fixtures.db.query(
            """
            SELECT round(extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY ready_at - (git_source->>'committedAt')::timestamptz)) * 1000)::bigint AS ms
            FROM vercel_deployments WHERE project_id = \(project) AND deployment_state = 'READY' AND git_source ? 'committedAt'
            """)[0].decode("ms")
        #expect(dora["leadTimeForChangesMs"] as? Int == Int(recomputed))
        #expect((json["definitions"] as? [String: String])?["changeFailureRate"]?.contains("24 h") == true)

        let short = try await client.signed(
            "GET", "/v1/projects/\(project)/vercel/optimization/analysis?userId=\(owner)&days=0")
        #expect(short.status == 400 && short.code == "INVALID_WINDOW")
    }
}
