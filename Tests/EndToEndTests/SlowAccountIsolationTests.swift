import Foundation
import TestSupport
import Testing

/// One slow Vercel account does not stall other users: with the simulator answering one account in
/// 3 s, that account's callers are held to the bulkhead's two calls in flight (the rest get 503
/// `UPSTREAM_BUSY` with `Retry-After`), and another user's database-only deployment list through
/// the same function stays fast. Serialized: it measures latency.
@Suite(.serialized) struct SlowAccountIsolationTests {
    let client: StackClient
    let fixtures = StackFixtures()

    init() throws {
        client = try StackClient()
    }

    actor Tally {
        var statuses: [Int: Int] = [:]
        var busyWithRetryAfter = 0

        func add(_ reply: StackClient.Reply) {
            statuses[reply.status, default: 0] += 1
            if reply.status == 503, reply.code == "UPSTREAM_BUSY", reply.header("retry-after") == "1" {
                busyWithRetryAfter += 1
            }
        }
    }

    @Test func anotherUsersDeploymentListStaysFastWhileASlowAccountIsHammered() async throws {
        let slow = try await LinkedProjectFixture.make(fixtures, client)
        let other = try await LinkedProjectFixture.make(fixtures, client)
        _ = try await other.deployPreview()
        try await slow.connected.account.setFaults(["latencyMs": 3_000, "buildMs": 300])
        let before = try await slow.connected.account.requests()["GET /v10/projects"] ?? 0

        let tally = Tally()
        let client = self.client
        let slowList = "\(slow.base)/projects?userId=\(slow.user)"
        let hammerEnds = Date().addingTimeInterval(6)
        let hammer = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<12 {
                    group.addTask {
                        while Date() < hammerEnds {
                            await tally.add(try await client.signed("GET", slowList))
                            try await Task.sleep(for: .milliseconds(20))
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        // Let the slow calls take their places first.
        try await Task.sleep(for: .milliseconds(500))
        var latencies: [Double] = []
        let otherList = "\(other.base)/deployments?userId=\(other.user)"
        for _ in 0..<100 {
            let started = Date()
            let reply = try await client.signed("GET", otherList)
            latencies.append(Date().timeIntervalSince(started) * 1000)
            #expect(reply.status == 200, "\(reply.text)")
            try await Task.sleep(for: .milliseconds(20))
        }
        try await hammer.value
        latencies.sort()
        let p99 = latencies[98]
        #expect(p99 < 50, "p99 \(p99) ms; p50 \(latencies[49]) ms")

        let statuses = await tally.statuses
        let busy = await tally.busyWithRetryAfter
        #expect(busy > 50, "the slow account's extra callers are refused: \(statuses)")
        #expect((statuses[200] ?? 0) >= 2, "its calls in flight are answered: \(statuses)")
        // Two in flight at a time for 6 s of 3 s answers, per function process.
        let made = (try await slow.connected.account.requests()["GET /v10/projects"] ?? 0) - before
        #expect(made <= 8, "calls that reached Vercel: \(made) of \(statuses.values.reduce(0, +))")
    }
}
