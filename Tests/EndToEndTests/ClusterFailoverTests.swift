import Crypto
import Foundation
import Postgres
import TestSupport
import Testing

/// The primary dies under load and the replica is promoted (`scripts/dev cluster failover`). Run
/// last, on its own: the cluster has one server afterwards.
@Suite(.serialized, .enabled(if: ClusterStack.enabled)) struct ClusterFailoverTests {
    let client: StackClient
    let fixtures = StackFixtures()

    init() throws {
        client = try StackClient()
    }

    struct Answer: Sendable {
        let id: String
        let status: Int
        let retryAfter: String?
        let code: String?
    }

    @Test func aFailoverLosesNoAcknowledgedWebhookAnswersOnly503sAndEveryGroupServesAgain() async throws {
        let hosts = try ClusterStack.hosts()
        let settings = try TestEnvironment.stackConfiguration()
        let secret = Array(try #require(settings["VERCEL_OAUTH_CLIENT_SECRET"]).utf8)
        let linked = try await LinkedProjectFixture.make(fixtures, client)
        let deployment = try await linked.deployPreview()
        let pids = try hosts.keys.sorted().flatMap { host in
            try DatabaseOutageTests.groups.map { try ClusterStack.pid(of: $0, on: host) }
        }
        let tag = UUID().uuidString.prefix(8).lowercased()
        let client = self.client
        let stop = Date().addingTimeInterval(20)
        func body(_ id: String, _ index: Int) -> [UInt8] {
            Array(
                #"{"type":"deployment.check-rerequested","id":"\#(id)","createdAt":\#(1_790_000_000_000 + index),"payload":{}}"#
                    .utf8)
        }
        func deliver(_ id: String, _ index: Int) async throws -> Answer {
            let bytes = body(id, index)
            let reply = try await client.send(
                "POST", "/v1/webhooks/vercel", body: Data(bytes),
                headers: [
                    "content-type": "application/json",
                    "x-vercel-signature": Hex.encode(HMAC.sha1(key: secret, message: bytes)),
                ])
            return Answer(id: id, status: reply.status, retryAfter: reply.header("retry-after"), code: reply.code)
        }
        // Webhooks from two senders and a reader of the deployment, for 20 s; the primary dies
        // after 4 s.
        let senders = (0..<2).map { sender in
            Task { () -> [Answer] in
                var answers: [Answer] = []
                var index = 0
                while Date() < stop {
                    let id = "evt_failover_\(tag)_\(sender)_\(index)"
                    answers.append(try await deliver(id, index))
                    index += 1
                }
                return answers
            }
        }
        let readPath = "\(linked.base)/deployments/\(deployment)?userId=\(linked.user)"
        let reader = Task { () -> [Answer] in
            var answers: [Answer] = []
            while Date() < stop {
                let reply = try await client.signed("GET", readPath)
                answers.append(
                    Answer(id: "read", status: reply.status, retryAfter: reply.header("retry-after"), code: reply.code))
                try await Task.sleep(for: .milliseconds(20))
            }
            return answers
        }
        try await Task.sleep(for: .seconds(4))
        #expect(try await ClusterStack.dev("failover") == 0)
        var answers: [Answer] = []
        for sender in senders { answers += try await sender.value }
        let reads = try await reader.value

        // Nothing but answers and JSON 503s with Retry-After, and some of each.
        let refused = answers.filter { $0.status == 503 }
        #expect(answers.allSatisfy { $0.status == 200 || $0.status == 503 }, "\(Set(answers.map(\.status)))")
        #expect(!refused.isEmpty, "the failover refused nothing: it was not under load")
        #expect(refused.allSatisfy { $0.retryAfter != nil && $0.code != nil }, "a 503 without Retry-After or a code")
        #expect(reads.allSatisfy { $0.status == 200 || $0.status == 503 }, "\(Set(reads.map(\.status)))")
        #expect(reads.filter { $0.status == 503 }.allSatisfy { $0.retryAfter != nil && $0.code != nil })
        #expect(reads.last?.status == 200, "reads did not come back")

        // Every webhook answered 200 is in the promoted server.
        let stored = Set(
            try fixtures.db.query(
                "SELECT event_id FROM vercel_webhook_dedup WHERE event_id LIKE \("evt_failover_\(tag)_%")"
            ).compactMap { $0["event_id"] ?? nil })
        let acknowledged = answers.filter { $0.status == 200 }.map(\.id)
        #expect(acknowledged.count > 100)
        let lost = acknowledged.filter { !stored.contains($0) }
        #expect(lost.isEmpty, "\(lost.count) acknowledged webhooks lost")
        #expect(
            try fixtures.db.query("SELECT pg_is_in_recovery()::text AS standby")[0]["standby"] == "false",
            "the tests' connection did not follow the failover")

        // Every group of both hosts serves again, with the functions that ran before the failover.
        for (host, port) in hosts {
            for group in DatabaseOutageTests.groups {
                let health = try await onOwnThread {
                    try RawHTTP.get(port: port, path: "/healthz/\(group)", timeout: 10).map(\.text).joined()
                }
                #expect(health.hasPrefix("HTTP/1.1 200"), "\(host) \(group): \(health.prefix(200))")
            }
        }
        let after = try hosts.keys.sorted().flatMap { host in
            try DatabaseOutageTests.groups.map { try ClusterStack.pid(of: $0, on: host) }
        }
        #expect(after == pids, "a function was restarted")
        // Vercel delivers the refused ones again: every event is stored once.
        for answer in refused {
            let index = Int(answer.id.split(separator: "_").last!)!
            #expect(try await deliver(answer.id, index).status == 200)
        }
        #expect(
            try fixtures.db.query(
                "SELECT count(*) AS n FROM vercel_webhook_dedup WHERE event_id LIKE \("evt_failover_\(tag)_%")")[0]["n"]
                == "\(answers.count)")
    }
}
