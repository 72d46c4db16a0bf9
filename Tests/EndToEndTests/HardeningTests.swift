import Crypto
import Foundation
import TestSupport
import Testing
import Vercel

/// What an attacker and a race found in the groups written last (an adversarial pass, round two),
/// each sent the way it was found: through nginx, or to a function's own socket where the test
/// needs a setting of its own.
@Suite struct HardeningTests {
    let client: StackClient
    let fixtures = StackFixtures()

    init() throws {
        client = try StackClient()
    }

    static func json(_ object: [String: Any]) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }

    // MARK: Branch patterns

    /// A rule that made a backtracking matcher run for seconds (`*a*a*a*a*b` against a branch of
    /// `a`s), beside fifty branch patterns of the most wildcards a pattern may hold: eight
    /// concurrent tests of the longest branch answer at once, and another user's deployment list
    /// meanwhile too.
    @Test func aPathologicalBranchPatternAnswersAtOnceAndHoldsNoWorker() async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client, webhooks: false)
        let other = try await LinkedProjectFixture.make(fixtures, client, webhooks: false)
        let user = linked.user.uuidString
        let rule = try await client.signed(
            "POST", "\(linked.base)/auto-deploy/rules",
            json: Self.json(["userId": user, "pattern": "*a*a*a*a*b", "target": "preview"]))
        #expect(rule.status == 201, "\(rule.text)")
        let widest = String(repeating: "*a", count: 32) + "b"
        let config = try await client.signed(
            "PUT", "\(linked.base)/auto-deploy/config",
            json: Self.json(["userId": user, "branchPatterns": Array(repeating: widest, count: 50)]))
        #expect(config.status == 200, "\(config.text)")

        let branch = String(repeating: "a", count: 250)
        let test = Self.json(["userId": user, "branch": branch])
        let otherList = "\(other.base)/deployments?userId=\(other.user)"
        let client = client
        let testPath = "\(linked.base)/auto-deploy/test"
        let tests = try await withThrowingTaskGroup(of: Duration?.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    let started = ContinuousClock.now
                    let reply = try await client.signed("POST", testPath, json: test)
                    let took = ContinuousClock.now - started
                    #expect(reply.status == 200, "\(reply.text)")
                    #expect(reply.json?["wouldDeploy"] as? Bool == false)
                    #expect(reply.json?["reason"] as? String == "no rule or branch pattern matches this branch")
                    return took
                }
            }
            group.addTask {
                for _ in 0..<10 {
                    let started = ContinuousClock.now
                    let reply = try await client.signed("GET", otherList)
                    #expect(reply.status == 200, "\(reply.text)")
                    // Behind the old matcher this list waited 14.5 s; under the whole suite on two
                    // cores a list has taken 5.2 s with no pattern test in its way.
                    #expect(ContinuousClock.now - started < .seconds(10), "another user's list waited")
                }
                return nil
            }
            return try await group.reduce(into: [Duration]()) { if let took = $1 { $0.append(took) } }
        }
        // A backtracking matcher took 8 to 10 s for one rule against 80 `a`s (these fifty-one
        // patterns against 250 would not end), and another user's list waited 14.5 s behind four
        // such tests. The bounds leave room for a loaded test machine running the whole suite;
        // `scripts/bench isolation` measures the real figure.
        #expect(tests.count == 8)
        #expect(tests.allSatisfy { $0 < .seconds(5) }, "\(tests)")

        let matching = try await client.signed(
            "POST", "\(linked.base)/auto-deploy/test", json: Self.json(["userId": user, "branch": branch + "b"]))
        #expect(matching.json?["matchedPattern"] as? String == "*a*a*a*a*b", "\(matching.text)")
    }

    /// Every door that takes a pattern refuses one past the limits, saying which limit.
    @Test func everyDoorThatTakesAPatternRefusesOnePastItsLimits() async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client, webhooks: false)
        let user = linked.user.uuidString
        let tooWild = String(repeating: "*a", count: 33)
        let rule = try await client.signed(
            "POST", "\(linked.base)/auto-deploy/rules",
            json: Self.json(["userId": user, "pattern": tooWild, "target": "preview"]))
        #expect(rule.status == 400 && rule.code == "INVALID_RULE", "\(rule.text)")
        #expect(rule.error?.contains("at most 32 wildcards") == true, "\(rule.text)")
        let config = try await client.signed(
            "PUT", "\(linked.base)/auto-deploy/config", json: Self.json(["userId": user, "branchPatterns": [tooWild]]))
        #expect(config.status == 400 && config.code == "INVALID_BRANCH_PATTERNS", "\(config.text)")
        #expect(config.error?.contains("pattern 1: a pattern may hold at most 32 wildcards") == true, "\(config.text)")
        let link = try await client.signed(
            "PATCH", "\(linked.base)/projects/link",
            json: Self.json(["userId": user, "deploymentBranchPatterns": ["main", tooWild]]))
        #expect(link.status == 400 && link.code == "INVALID_BRANCH_PATTERNS", "\(link.text)")
        #expect(link.error?.contains("pattern 2") == true, "\(link.text)")
        let many = try await client.signed(
            "PATCH", "\(linked.base)/projects/link",
            json: Self.json(["userId": user, "deploymentBranchPatterns": Array(repeating: "a*", count: 51)]))
        #expect(many.status == 400 && many.error?.contains("at most 50 patterns") == true, "\(many.text)")
        let sync = try await client.signed(
            "POST", "\(linked.base)/env/sync",
            json: Self.json([
                "userId": user, "direction": "to_vercel", "target": "preview", "dryRun": true,
                "excludePatterns": ["API_*", String(repeating: "?", count: 33)],
            ]))
        #expect(sync.status == 400 && sync.code == "INVALID_PATTERNS", "\(sync.text)")
        #expect(sync.error?.contains("excludePatterns: pattern 2") == true, "\(sync.text)")
    }

    // MARK: The request budget

    /// A request may hold a worker for the group's request budget, not for as long as Vercel
    /// takes: with a budget of 2 s, a project list from an account Vercel answers in 6 s is
    /// answered 504 once the budget is spent, and the one upstream worker serves the next request
    /// while the slow answer is still on its way.
    @Test func noRequestHoldsAWorkerPastTheRequestBudget() async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client, webhooks: false)
        let function = try await FunctionProcess(
            group: "deployments", workers: 1, arguments: ["--upstream-workers", "1"],
            overrides: ["SHEEN_REQUEST_BUDGET_SECONDS": "2"])
        defer { function.stop() }
        try await linked.connected.account.setFaults(["latencyMs": 6_000])
        let socket = function.socket
        let target = "\(linked.base)/projects?userId=\(linked.user)"
        let signer = client
        @Sendable func send() throws -> FastCGIClient.Pending {
            let parameters = signer.signatureHeaders("GET", target).map { name, value in
                ("HTTP_" + name.uppercased().replacingOccurrences(of: "-", with: "_"), value)
            }
            return try FastCGIClient.send(socket: socket, uri: target, parameters: parameters, timeout: 30)
        }
        let (reply, took) = try await onOwnThread { () -> (String, Duration) in
            let started = ContinuousClock.now
            let reply = try send().reply()
            return (reply, ContinuousClock.now - started)
        }
        #expect(reply.contains("Status: 504"), "\(reply)")
        #expect(reply.contains(#""code":"VERCEL_TIMEOUT""#), "\(reply)")
        #expect(took < .seconds(5), "the request held its worker for \(took)")

        try await linked.connected.account.setFaults(["latencyMs": 0])
        let next = try await onOwnThread { try send().reply() }
        #expect(next.contains("Status: 200"), "\(next)")
    }

    // MARK: Races

    /// Twenty deploys and an unlink of one project at once, while Vercel takes 150 ms a call: each
    /// deploy is made and recorded, or refused as not linked before Vercel is asked; every
    /// deployment Vercel has for the project is one the service recorded.
    @Test func deploysRacingAnUnlinkAreRecordedOrRefusedAndLeaveNothingUntracked() async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client, webhooks: false)
        try await linked.connected.account.setFaults(["latencyMs": 150, "buildMs": 60_000])
        let body = Self.json([
            "userId": linked.user.uuidString, "deploymentType": "preview", "gitSource": ["branch": "main"],
        ])
        let client = client
        let deploy = "\(linked.base)/deploy"
        let unlink = "\(linked.base)/projects/unlink"
        let unlinkBody = Self.json(["userId": linked.user.uuidString])
        let replies = try await withThrowingTaskGroup(of: (String, StackClient.Reply).self) { group in
            // A deploy every 200 ms keeps within the connection's two calls in flight; the unlink
            // comes while the ninth is at Vercel.
            for index in 0..<20 {
                group.addTask { ("deploy", try await client.signed("POST", deploy, json: body)) }
                if index == 8 {
                    try await Task.sleep(for: .milliseconds(50))
                    group.addTask { ("unlink", try await client.signed("POST", unlink, json: unlinkBody)) }
                }
                try await Task.sleep(for: .milliseconds(200))
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let unlinked = replies.filter { $0.0 == "unlink" }.map(\.1)
        #expect(unlinked.count == 1 && unlinked[0].status == 200, "\(unlinked.map(\.text))")
        let deploys = replies.filter { $0.0 == "deploy" }.map(\.1)
        #expect(deploys.count == 20)
        for reply in deploys {
            #expect(
                reply.status == 202 || (reply.status == 404 && reply.code == "PROJECT_NOT_LINKED"),
                "\(reply.status) \(reply.text)")
        }
        let accepted = Set(
            deploys.compactMap { ($0.json?["deployment"] as? [String: Any])?["id"] as? String })
        let recorded = Set(
            try fixtures.db.query("SELECT deployment_id FROM vercel_deployments WHERE project_id = \(linked.project)")
                .map { $0["deployment_id"] ?? "" })
        try await linked.connected.account.setFaults(["latencyMs": 0])
        let atVercel = Set(
            try linked.connected.vercel.deployments(
                projectID: linked.vercelProject.id, .init(accessToken: linked.connected.account.token), limit: 100
            ).items.map(\.uid))
        #expect(accepted == recorded, "answered \(accepted.sorted()), recorded \(recorded.sorted())")
        #expect(atVercel == recorded, "untracked at Vercel: \(atVercel.subtracting(recorded).sorted())")
        #expect(deploys.contains { $0.status == 202 }, "no deploy went before the unlink")
    }

    /// Fifty PUTs of one new key at once, each with its own value: every one is answered 200
    /// `applied`, and the value the platform holds (its keyed hash, as the list shows it) is the
    /// one Vercel holds: the last writer's on both sides.
    @Test func concurrentPutsOfOneKeyEndWithBothSidesHoldingTheLastWritersValue() async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client, webhooks: false)
        let client = client
        let path = "\(linked.base)/env/RACED_KEY"
        let user = linked.user.uuidString
        let replies = try await withThrowingTaskGroup(of: (String, StackClient.Reply).self) { group in
            for index in 0..<50 {
                let value = "value-number-\(index)-" + String(repeating: "x", count: 16)
                let body = Self.json(["userId": user, "value": value, "target": ["preview"], "type": "encrypted"])
                group.addTask { (value, try await client.signed("PUT", path, json: body)) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        var hashes: [String: String] = [:]
        for (value, reply) in replies {
            #expect(reply.status == 200, "\(reply.status) \(reply.text)")
            #expect((reply.json?["vercel"] as? [String: Any])?["status"] as? String == "applied", "\(reply.text)")
            hashes[value] = (reply.json?["variable"] as? [String: Any])?["valueHash"] as? String
        }
        let listed = try await client.signed("GET", "\(linked.base)/env?userId=\(user)&target=preview")
        let rows = (listed.json?["variables"] as? [[String: Any]] ?? []).filter { $0["key"] as? String == "RACED_KEY" }
        #expect(rows.count == 1, "\(listed.text)")
        let platformHash = rows.first?["valueHash"] as? String
        let vercel = linked.connected.vercel
        let atVercel = try vercel.envVariables(projectID: linked.vercelProject.id, linked.connected.credentials)
            .filter { $0.key == "RACED_KEY" }
        #expect(atVercel.count == 1, "\(atVercel.count) variables at Vercel")
        let value = try atVercel.first.map {
            try vercel.envVariable(id: $0.id ?? "", projectID: linked.vercelProject.id, linked.connected.credentials)
                .value
        }
        #expect(value.flatMap { hashes[$0 ?? ""] } == platformHash, "Vercel holds \(value ?? nil ?? "nothing")")
        #expect(platformHash != nil)
    }

    /// A PUT of a variable while a sync of the project's variables runs is told so (409
    /// `SYNC_IN_PROGRESS`, try again shortly) rather than interleaving with it; once the sync is
    /// over it is applied.
    @Test func aPutDuringASyncIsToldToWaitRatherThanInterleaving() async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client, webhooks: false)
        try await linked.connected.account.setFaults(["latencyMs": 8_000])
        let client = client
        let syncPath = "\(linked.base)/env/sync"
        let sync = Self.json([
            "userId": linked.user.uuidString, "direction": "to_vercel", "target": "preview", "dryRun": true,
        ])
        let running = Task { try await client.signed("POST", syncPath, json: sync) }
        // The sync holds its lock while Vercel takes 8 s to list the variables; on a machine loaded
        // by the whole suite it may start late, so its lock is waited for up to 30 s.
        let lock = "sheen.vercel.env-sync.\(linked.project.uuidString.lowercased())"
        var held = false
        for _ in 0..<1_200 where !held {
            held = try !fixtures.db.query(
                """
                SELECT 1 AS held FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1
                  AND ((classid::bigint << 32) | objid::bigint) = hashtextextended(\(lock), 0)
                """
            ).isEmpty
            if !held { try await Task.sleep(for: .milliseconds(25)) }
        }
        #expect(held, "the sync never took its lock")
        let put = Self.json([
            "userId": linked.user.uuidString, "value": "https://api.example.com", "target": ["preview"],
        ])
        let refused = try await client.signed("PUT", "\(linked.base)/env/API_URL", json: put)
        #expect(refused.status == 409 && refused.code == "SYNC_IN_PROGRESS", "\(refused.text)")
        #expect(refused.header("retry-after") == "2")
        let synced = try await running.value
        #expect(synced.status == 200, "\(synced.text)")
        try await linked.connected.account.setFaults(["latencyMs": 0])
        let applied = try await client.signed("PUT", "\(linked.base)/env/API_URL", json: put)
        #expect(applied.status == 200, "\(applied.text)")
    }

    // MARK: Names

    /// A domain that is an IP address in another notation, ends in a number, or is special-use is
    /// refused before Vercel is asked, with the reason that applies; a port is not called an IP.
    @Test func domainsThatNoOneCanServeAreRefusedWithTheReasonThatApplies() async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client, webhooks: false)
        let before = try await linked.connected.account.requests().filter { $0.key.contains("/domains") }
        let cases: [(String, String)] = [
            ("127.1", "an IP address"), ("0x7f.0.0.1", "an IP address"), ("[::1]", "an IP address"),
            ("shop.example.123", "the last label is a number"), ("app.localhost", "under .localhost"),
            ("printer.local", "under .local"), ("api.internal", "under .internal"), ("shop.test", "under .test"),
            ("abc.onion", "under .onion"), ("router.home.arpa", "under .arpa"),
            ("localhost.localdomain", "under .localdomain"), ("example.com:8080", "letters, digits and hyphens"),
        ]
        for (domain, reason) in cases {
            let reply = try await client.signed(
                "POST", "\(linked.base)/domains", json: Self.json(["userId": linked.user.uuidString, "domain": domain]))
            #expect(reply.status == 400 && reply.code == "INVALID_DOMAIN", "\(domain): \(reply.text)")
            #expect((reply.json?["reason"] as? String)?.contains(reason) == true, "\(domain): \(reply.text)")
        }
        let after = try await linked.connected.account.requests().filter { $0.key.contains("/domains") }
        #expect(after == before, "Vercel was asked")
    }

    /// An env variable's branch is a git branch name: line breaks, spaces, `..` and `~` are refused.
    @Test func anEnvVariablesBranchIsCheckedByGitsRules() async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client, webhooks: false)
        for branch in ["fix\r\nX-Injected: 1", "my branch", "a..b", "feature~1", "-lead", "a.lock"] {
            let reply = try await client.signed(
                "PUT", "\(linked.base)/env/API_URL",
                json: Self.json([
                    "userId": linked.user.uuidString, "value": "https://api.example.com", "target": ["preview"],
                    "gitBranch": branch,
                ]))
            #expect(reply.status == 400 && reply.code == "INVALID_GIT_BRANCH", "\(branch): \(reply.text)")
        }
        let fine = try await client.signed(
            "PUT", "\(linked.base)/env/API_URL",
            json: Self.json([
                "userId": linked.user.uuidString, "value": "https://api.example.com", "target": ["preview"],
                "gitBranch": "feature/login",
            ]))
        #expect(fine.status == 200, "\(fine.text)")
    }
}
