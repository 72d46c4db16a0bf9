import Foundation
import Platform
import Postgres
import TestSupport
import Testing

/// `GET …/optimization/recommendations` through nginx: each rule fires on the builds planted for
/// it, with its evidence, and stays quiet on a project whose builds are only noisy.
@Suite struct BuildRecommendationsTests {
    let client: StackClient
    let fixtures = StackFixtures()

    init() throws {
        client = try StackClient()
    }

    /// READY builds of `times` ms, one an hour, oldest first, each with a deployment whose commit is
    /// `sha<n>`; their deployment ids.
    func builds(_ project: UUID, _ times: [Double], cacheHit: (Int) -> Bool? = { _ in nil }) throws -> [String] {
        let tag = UUID().uuidString.prefix(6).lowercased()
        return try times.enumerated().map { index, ms in
            let id = "dpl_rec_\(tag)_\(index)"
            let hoursAgo = times.count - index
            try fixtures.db.execute(
                """
                INSERT INTO vercel_build_metrics (project_id, deployment_id, deployment_type, outcome, build_duration_ms,
                  cache_hit, recorded_at)
                VALUES (\(project), \(id), 'PREVIEW', 'READY', \(Int(ms)), \(cacheHit(index)), now() - \(hoursAgo) * interval '1 hour')
                """)
            try fixtures.db.execute(
                """
                INSERT INTO vercel_deployments (deployment_id, created_at, project_id, deployment_state, deployment_type, git_source)
                VALUES (\(id), vercel_deployment_created_at(\(id), now() - \(hoursAgo) * interval '1 hour'), \(project), 'READY', 'PREVIEW',
                  jsonb_build_object('commitSha', \("sha\(index)")::text))
                """)
            return id
        }
    }

    func recommendations(_ project: UUID, _ owner: UUID) async throws -> [[String: Any]] {
        let reply = try await client.signed(
            "GET", "/v1/projects/\(project)/vercel/optimization/recommendations?userId=\(owner)")
        #expect(reply.status == 200, "\(reply.text)")
        return reply.json?["recommendations"] as? [[String: Any]] ?? []
    }

    static func noisy(_ count: Int, level: Double, spread: Double, seed: UInt64) -> [Double] {
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { _ in level + (Double(generator.next() % 2001) / 1000 - 1) * spread }
    }

    @Test func eachRuleFiresOnWhatWasPlantedForIt() async throws {
        let owner = try fixtures.user()
        let project = try fixtures.project(owner: owner)
        // 25 builds around 60 s, then 20 around 90 s; the first 30 missed the cache.
        let times =
            Self.noisy(25, level: 60_000, spread: 5_000, seed: 1)
            + Self.noisy(20, level: 90_000, spread: 5_000, seed: 2)
        let ids = try builds(project, times) { $0 < 30 ? false : true }
        for n in 0..<4 {
            try fixtures.db.execute(
                """
                INSERT INTO vercel_build_metrics (project_id, deployment_id, deployment_type, outcome, build_duration_ms,
                  error_code, error_step, recorded_at)
                VALUES (\(project), \("dpl_rec_oom_\(UUID().uuidString.prefix(6))_\(n)"), 'PREVIEW', 'ERROR', 40000,
                  'BUILD_OOM', 'BUILD', now() - \(n) * interval '1 day')
                """)
        }
        let connection: UUID = try fixtures.db.query(
            "INSERT INTO vercel_connections (user_id, account_type, status) VALUES (\(owner), 'personal', 'revoked') RETURNING id"
        )[0].decode("id")
        try fixtures.db.execute(
            """
            INSERT INTO vercel_project_mappings (project_id, vercel_connection_id, vercel_project_id, node_version)
            VALUES (\(project), \(connection), \("prj_rec_\(UUID().uuidString.prefix(6))"), '16.x')
            """)

        let found = try await recommendations(project, owner)
        let byRule = Dictionary(found.map { ($0["rule"] as? String ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        let regression = try #require(byRule["build_time_regression"]?["evidence"] as? [String: Any])
        #expect(regression["buildsBefore"] as? Int == 25 && regression["buildsAfter"] as? Int == 20, "\(regression)")
        #expect(regression["lastDeploymentBefore"] as? String == ids[24])
        #expect(regression["firstDeploymentAfter"] as? String == ids[25])
        #expect((regression["commitRange"] as? [String: Any])?["from"] as? String == "sha24")
        #expect((regression["commitRange"] as? [String: Any])?["to"] as? String == "sha25")
        #expect((regression["medianAfterMs"] as? Int ?? 0) - (regression["medianBeforeMs"] as? Int ?? 0) > 20_000)

        let failure = try #require(byRule["repeated_failure"]?["evidence"] as? [String: Any])
        #expect(failure["errorCode"] as? String == "BUILD_OOM" && failure["count"] as? Int == 4)
        #expect((failure["deployments"] as? [String])?.count == 4)
        let cache = try #require(byRule["build_cache_bypassed"]?["evidence"] as? [String: Any])
        #expect(cache["builds"] as? Int == 45 && cache["cacheMisses"] as? Int == 30)
        let node = try #require(byRule["node_end_of_life"]?["evidence"] as? [String: Any])
        #expect(node["nodeVersion"] as? String == "16.x" && node["endOfLife"] as? String == "2023-09-11")
        #expect(found.allSatisfy { ($0["expectedGain"] as? String)?.isEmpty == false })
    }

    @Test func noisyBuildsAloneRecommendNothing() async throws {
        let owner = try fixtures.user()
        let project = try fixtures.project(owner: owner)
        _ = try builds(project, Self.noisy(50, level: 60_000, spread: 15_000, seed: 99)) { _ in true }
        #expect(try await recommendations(project, owner).isEmpty)
        let reply = try await client.signed(
            "GET", "/v1/projects/\(project)/vercel/optimization/recommendations?userId=\(owner)")
        // No deployment from the platform's files: the uploads rule has nothing to look at.
        #expect((reply.json?["notEvaluated"] as? [[String: Any]])?.first?["rule"] as? String == "unneeded_uploads")
    }

    /// Deploys from the platform's files through the deploy route: the upload is recorded by
    /// category, and the rule names what no build needs until the files are gone.
    @Test func uploadsThatCarryFilesNoBuildNeedsAreFoundAndTheirIgnoreLinesGiven() async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client)
        let root = URL(fileURLWithPath: try #require(try TestEnvironment.stackConfiguration()["SHEEN_PROJECTS_ROOT"]))
            .appendingPathComponent(linked.project.uuidString.lowercased())
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("src"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("tests/fixtures"), withIntermediateDirectories: true)
        var appBytes = 0
        for index in 0..<20 {
            let data = Data(String(repeating: "export const v\(index) = \(index);\n", count: 100).utf8)
            appBytes += data.count
            try data.write(to: root.appendingPathComponent("src/m\(index).js"))
        }
        var testBytes = 0
        for index in 0..<6 {
            // Distinct contents, so each is its own upload.
            let data = Data(repeating: UInt8(65 + index), count: 250_000)
            testBytes += data.count
            try data.write(to: root.appendingPathComponent("tests/fixtures/dump\(index).json"))
        }
        try Data("x".utf8).write(to: root.appendingPathComponent("build.log"))
        let reply = try await linked.deploy(["deploymentType": "preview"])
        #expect(reply.status == 202, "\(reply.text)")
        let deployment = try #require((reply.json?["deployment"] as? [String: Any])?["id"] as? String)

        var found = try await recommendations(linked.project, linked.user)
        let rule = try #require(found.first { $0["rule"] as? String == "unneeded_uploads" }, "\(found)")
        let evidence = try #require(rule["evidence"] as? [String: Any])
        #expect(evidence["deployment"] as? String == deployment)
        #expect(evidence["files"] as? Int == 27)
        #expect(evidence["bytes"] as? Int == appBytes + testBytes + 1)
        #expect(evidence["unneededFiles"] as? Int == 7)
        #expect(evidence["unneededBytes"] as? Int == testBytes + 1)
        #expect(evidence["bytesByCategory"] as? [String: Int] == ["tests": testBytes, "logs": 1])
        #expect((evidence["examples"] as? [String])?.first == "tests/fixtures/dump0.json")
        let ignore = try #require(evidence["vercelignore"] as? [String])
        #expect(ignore.contains("**/tests") && ignore.contains("*.log"))
        #expect((rule["expectedGain"] as? String)?.contains("\((testBytes + 1) / 1024) KiB") == true)

        // Without them, the next upload is lean and the rule is quiet.
        try FileManager.default.removeItem(at: root.appendingPathComponent("tests"))
        try FileManager.default.removeItem(at: root.appendingPathComponent("build.log"))
        let lean = try await linked.deploy(["deploymentType": "preview"])
        #expect(lean.status == 202, "\(lean.text)")
        found = try await recommendations(linked.project, linked.user)
        #expect(!found.contains { $0["rule"] as? String == "unneeded_uploads" }, "\(found)")
    }
}
