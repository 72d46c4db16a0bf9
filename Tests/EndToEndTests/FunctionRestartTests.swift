import Crypto
import Foundation
import Postgres
import TestSupport
import Testing

/// Functions that come back by themselves: `scripts/dev` supervises each one, so a killed function
/// answers again within 2 s, and no webhook it acknowledged is lost. `scripts/dev test` runs this
/// suite on its own, after the others: the functions it kills serve them too.
@Suite(.serialized) struct FunctionRestartTests {
    let client: StackClient
    let fixtures = StackFixtures()
    let settings: [String: String]

    init() throws {
        client = try StackClient()
        settings = try TestEnvironment.stackConfiguration()
    }

    /// Polls the group's health until it answers 200; how long that took.
    func timeUntilHealthy(_ group: String, limit: Duration = .seconds(10)) async throws -> Duration {
        let clock = ContinuousClock()
        let started = clock.now
        while clock.now - started < limit {
            if let health = try? await client.send("GET", "/healthz/\(group)"), health.status == 200 {
                return clock.now - started
            }
            try await Task.sleep(for: .milliseconds(25))
        }
        return limit
    }

    @Test func aKilledWebhooksFunctionIsBackWithinTwoSecondsAndLosesNoAcknowledgedEvent() async throws {
        let owner = try fixtures.user()
        let project = try fixtures.project(owner: owner)
        let vercelProject = "prj_restart_\(UUID().uuidString.prefix(8).lowercased())"
        let connection: UUID = try fixtures.db.query(
            """
            INSERT INTO vercel_connections (user_id, account_type, access_token_sealed)
            VALUES (\(owner), 'personal', 'v1.k.iv.ct') RETURNING id
            """)[0].decode("id")
        try fixtures.db.execute(
            """
            INSERT INTO vercel_project_mappings (project_id, vercel_connection_id, vercel_project_id)
            VALUES (\(project), \(connection), \(vercelProject))
            """)
        let secret = Array(settings["VERCEL_OAUTH_CLIENT_SECRET"]!.utf8)
        let client = self.client
        let before = try StackFixtures.pid(of: "webhooks")

        // Four senders for three seconds; the function is killed one second in.
        let load = Task {
            try await withThrowingTaskGroup(of: [(String, Int)].self) { group in
                for sender in 0..<4 {
                    group.addTask {
                        var sent: [(String, Int)] = []
                        let end = ContinuousClock.now + .seconds(3)
                        var index = 0
                        while ContinuousClock.now < end {
                            index += 1
                            let id = "evt_restart_\(sender)_\(index)_\(UUID().uuidString.prefix(6))"
                            let body = Array(
                                """
                                {"id":"\(id)","type":"deployment.created","createdAt":1790000000000,
                                 "payload":{"deployment":{"id":"dpl_\(id)","url":"x.vercel.app"},"project":{"id":"\(vercelProject)"}}}
                                """.utf8)
                            let reply = try? await client.send(
                                "POST", "/v1/webhooks/vercel", body: Data(body),
                                headers: [
                                    "content-type": "application/json",
                                    "x-vercel-signature": Hex.encode(HMAC.sha1(key: secret, message: body)),
                                ])
                            sent.append((id, reply?.status ?? 0))
                        }
                        return sent
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
        }
        try await Task.sleep(for: .seconds(1))
        #expect(kill(before, SIGKILL) == 0)
        let back = try await timeUntilHealthy("webhooks")
        #expect(back <= .seconds(2), "the webhooks function answered again after \(back)")
        #expect(try StackFixtures.pid(of: "webhooks") != before)

        let sent = try await load.value
        let acknowledged = sent.filter { (200..<300).contains($0.1) }.map(\.0)
        #expect(acknowledged.count > 0)
        #expect(sent.allSatisfy { (200..<300).contains($0.1) || $0.1 == 503 }, "\(Set(sent.map(\.1)))")
        let stored: Int = try fixtures.db.query(
            "SELECT count(*) AS n FROM vercel_webhook_dedup WHERE event_id = ANY(\(acknowledged))")[0].decode("n")
        #expect(stored == acknowledged.count, "acknowledged \(acknowledged.count), stored \(stored)")
    }

    /// While the OAuth function is down, a callback fails at nginx; its code and state, in the
    /// query, reach no log.
    @Test func aCallbackThatFailsAtNginxLeavesItsQueryOutOfEveryLog() async throws {
        let code = "code-\(UUID().uuidString)"
        let pid = try StackFixtures.pid(of: "oauth")
        #expect(kill(pid, SIGKILL) == 0)
        var failed = false
        for _ in 0..<20 where !failed {
            let reply = try await client.send("GET", "/v1/internal/vercel/oauth/callback?code=\(code)&state=\(code)")
            failed = reply.status == 503
        }
        #expect(try await timeUntilHealthy("oauth") <= .seconds(2))
        try await Task.sleep(for: .milliseconds(200))
        let logs = try StackFixtures.logs()
        #expect(!logs.contains(code), "the callback's query reached a log")
    }
}
