import Foundation
import Postgres
import TestSupport
import Testing

/// A project's smoke checks (GET and PUT …/vercel/checks) through nginx: the default until set,
/// replaced whole, refused when a check could leave the deployment's host or is unbounded, kept in
/// Postgres, and back to the default with an empty list.
@Suite struct SmokeCheckSettingsTests {
    let client: StackClient
    let fixtures = StackFixtures()

    init() throws {
        client = try StackClient()
    }

    func put(_ linked: LinkedProjectFixture, _ checks: Any) async throws -> StackClient.Reply {
        let body = ["userId": linked.user.uuidString, "checks": checks] as [String: Any]
        let json = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
        return try await client.signed("PUT", "\(linked.base)/checks", json: json)
    }

    func checks(_ reply: StackClient.Reply) -> [[String: Any]] {
        reply.json?["checks"] as? [[String: Any]] ?? []
    }

    @Test func aProjectsChecksReplaceTheDefaultAndAreBounded() async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client, webhooks: false, smokeChecks: true)
        let fresh = try await client.signed("GET", "\(linked.base)/checks?userId=\(linked.user.uuidString)")
        #expect(fresh.status == 200 && fresh.json?["custom"] as? Bool == false, "\(fresh.text)")
        #expect(checks(fresh).map { $0["path"] as? String } == ["/"])

        let set = try await put(
            linked,
            [
                ["path": "/", "contains": "Welcome"],
                ["path": "/api/health", "expectStatus": 204, "latencyBudgetMs": 800],
            ])
        #expect(set.status == 200 && set.json?["custom"] as? Bool == true, "\(set.text)")
        let read = try await client.signed("GET", "\(linked.base)/checks?userId=\(linked.user.uuidString)")
        let stored = checks(read)
        try #require(stored.count == 2, "\(read.text)")
        #expect(stored[1]["expectStatus"] as? Int == 204)
        #expect(stored[0]["latencyBudgetMs"] as? Int == 5000 && stored[0]["contains"] as? String == "Welcome")

        for bad: Any in [
            [["path": "//evil.example/"]], [["path": "https://evil.example/"]],
            [["path": "/", "latencyBudgetMs": 60_000]],
            [["path": "/", "expectStatus": 42]], [["path": "/", "contains": ""]],
            Array(repeating: ["path": "/"], count: 11),
        ] {
            let refused = try await put(linked, bad)
            #expect(refused.status == 400 && refused.code == "INVALID_SMOKE_CHECK", "\(bad): \(refused.text)")
        }
        #expect(try await put(linked, "not a list").code == "INVALID_JSON")
        // The refusals changed nothing; the change is audited.
        #expect(
            checks(try await client.signed("GET", "\(linked.base)/checks?userId=\(linked.user.uuidString)")).count == 2)
        let audited: Int = try fixtures.db.query(
            """
            SELECT count(*) AS n FROM vercel_security_audit_log
            WHERE project_id = \(linked.project) AND action = 'VERCEL_PROJECT_SETTINGS_CHANGED'
              AND details->'changed' ? 'smokeChecks'
            """)[0].decode("n")
        #expect(audited == 1)

        let reset = try await put(linked, [] as [Any])
        #expect(reset.status == 200 && reset.json?["custom"] as? Bool == false)
        #expect(checks(reset).map { $0["path"] as? String } == ["/"])
    }
}
