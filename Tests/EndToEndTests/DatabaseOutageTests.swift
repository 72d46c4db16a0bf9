import Crypto
import Foundation
import TestSupport
import Testing

/// The stack while its database refuses connections. `scripts/dev test` runs this suite on its
/// own, after the others: an outage would fail whatever else used the database meanwhile.
@Suite(.serialized) struct DatabaseOutageTests {
    static let groups = ["oauth", "webhooks", "deployments", "env", "domains", "breakglass", "optimization"]
    let client: StackClient
    let fixtures = StackFixtures()

    init() throws {
        client = try StackClient()
    }

    @Test func aDatabaseOutageIs503AndEveryGroupRecoversWhenItReturns() async throws {
        let user = try fixtures.user()
        let outage = try TestDatabaseOutage(admin: TestEnvironment.require("TEST_ADMIN_DATABASE_URL"))
        defer { try? outage.end() }
        try outage.begin()
        let health = try await client.send("GET", "/healthz/env")
        #expect(health.status == 503)
        #expect(health.json?["database"] as? String == "unreachable")
        let call = try await client.signed("GET", "/v1/internal/vercel/oauth/status?userId=\(user)")
        #expect(call.status == 503 && call.code == "DATABASE_UNAVAILABLE")
        #expect(call.json?["requestId"] as? String == call.header("x-request-id"))
        try outage.end()
        for group in Self.groups {
            let recovered = try await client.send("GET", "/healthz/\(group)")
            #expect(recovered.status == 200, "\(group)")
        }
        let again = try await client.signed("GET", "/v1/internal/vercel/oauth/status?userId=\(user)")
        #expect(again.status == 200)
    }

    /// Postgres is stopped and started again while webhooks keep coming.
    @Test func acrossAPostgresRestartEveryWebhookAnswered2xxIsStoredAndTheRestAreRedelivered() async throws {
        let settings = try TestEnvironment.stackConfiguration()
        let secret = Array(settings["VERCEL_OAUTH_CLIENT_SECRET"]!.utf8)
        let tag = UUID().uuidString.prefix(8).lowercased()
        let bodies: [(id: String, body: [UInt8])] = (0..<600).map { index in
            let id = "evt_outage_\(tag)_\(index)"
            let envelope: [String: Any] = [
                "type": "deployment.check-rerequested", "id": id, "createdAt": 1_790_000_000_000 + index,
                "payload": [:],
            ]
            return (id, Array(try! JSONSerialization.data(withJSONObject: envelope)))
        }
        let client = self.client
        func deliver(_ items: ArraySlice<(id: String, body: [UInt8])>) async throws -> [(String, Int)] {
            var statuses: [(String, Int)] = []
            for item in items {
                let signature = Hex.encode(HMAC.sha1(key: secret, message: item.body))
                let reply = try await client.send(
                    "POST", "/v1/webhooks/vercel", body: Data(item.body),
                    headers: ["content-type": "application/json", "x-vercel-signature": signature])
                statuses.append((item.id, reply.status))
            }
            return statuses
        }
        var results = try await deliver(bodies[0..<200])
        try TestCluster.stop()
        do {
            results += try await deliver(bodies[200..<400])
        } catch {
            try TestCluster.start()
            throw error
        }
        try TestCluster.start()
        results += try await deliver(bodies[400..<600])

        let answered = results.filter { (200..<300).contains($0.1) }.map(\.0)
        let refused = results.filter { !(200..<300).contains($0.1) }
        #expect(refused.count >= 150, "the outage refused \(refused.count) deliveries")
        #expect(refused.allSatisfy { $0.1 == 503 })
        let stored = Set(
            try fixtures.db.query(
                "SELECT event_id FROM vercel_webhook_dedup WHERE event_id LIKE \("evt_outage_\(tag)_%")"
            ).compactMap { $0["event_id"] })
        #expect(Set(answered).isSubset(of: stored), "an event answered 2xx is missing")

        // Vercel delivers the refused ones again; afterwards every event is stored exactly once.
        let again = try await deliver(ArraySlice(bodies.filter { item in refused.contains { $0.0 == item.id } }))
        #expect(again.allSatisfy { (200..<300).contains($0.1) })
        #expect(
            try fixtures.db.query(
                "SELECT count(*) AS n FROM vercel_webhook_dedup WHERE event_id LIKE \("evt_outage_\(tag)_%")")[0]["n"]
                == "600")
    }
}
