import Crypto
import Foundation
import TestSupport
import Testing
import Vercel

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Auto-deploy from git through nginx against the simulator: each provider's real example push
/// (byte for byte) deploys once, redeliveries and a push and pull request of one commit deploy
/// once, a fork's pull request waits for approval and deploys its commit when approved, and
/// deliveries that are not proven store nothing.
@Suite struct GitAutoDeployTests {
    let client: StackClient
    let fixtures = StackFixtures()

    init() throws {
        client = try StackClient()
    }

    /// A linked project whose Vercel project builds from `repository`, with that repository
    /// connected through `PUT …/git`: the secret it answered.
    struct Connected {
        let linked: LinkedProjectFixture
        let secret: String
        let provider: String
        let repository: String

        var base: String { linked.base }
        var user: UUID { linked.user }
    }

    func connect(
        _ provider: String, _ repository: String, secret: String? = nil, settings: [String: Any]? = nil,
        token: String? = nil, buildMs: Int = 300
    ) async throws -> Connected {
        let linked = try await LinkedProjectFixture.make(
            fixtures, client, buildMs: buildMs, repository: .init(type: provider, repo: repository))
        var body: [String: Any] = ["userId": linked.user.uuidString, "provider": provider, "repository": repository]
        if let secret { body["webhookSecret"] = secret }
        if let token { body["token"] = token }
        let reply = try await client.signed("PUT", "\(linked.base)/git", json: Self.json(body))
        #expect(reply.status == 200, "\(reply.text)")
        #expect(reply.header("cache-control") == "no-store")
        let answered = try #require(reply.json?["webhookSecret"] as? String)
        if let settings {
            var config = settings
            config["userId"] = linked.user.uuidString
            let put = try await client.signed("PUT", "\(linked.base)/auto-deploy/config", json: Self.json(config))
            #expect(put.status == 200, "\(put.text)")
        }
        return Connected(linked: linked, secret: answered, provider: provider, repository: repository)
    }

    static func json(_ object: [String: Any]) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }

    static func fixture(_ name: String) throws -> Data {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/git/\(name)")
        return try Data(contentsOf: url)
    }

    /// Sends `body` as `provider` would, proven with `secret`.
    func deliver(
        _ provider: String, event: String, body: Data, secret: String, deliveryID: String = UUID().uuidString
    ) async throws -> StackClient.Reply {
        var headers = ["content-type": "application/json"]
        let signature = "sha256=" + Hex.encode(HMAC.sha256(key: Array(secret.utf8), message: Array(body)))
        switch provider {
        case "github":
            headers["X-GitHub-Event"] = event
            headers["X-GitHub-Delivery"] = deliveryID
            headers["X-Hub-Signature-256"] = signature
        case "gitlab":
            headers["X-Gitlab-Event"] = event
            headers["X-Gitlab-Event-UUID"] = deliveryID
            headers["X-Gitlab-Token"] = secret
        default:
            headers["X-Event-Key"] = event
            headers["X-Request-UUID"] = deliveryID
            headers["X-Hub-Signature"] = signature
        }
        return try await client.send("POST", "/v1/webhooks/git/\(provider)", body: body, headers: headers)
    }

    func deployments(of project: UUID) throws -> [[String: String?]] {
        try fixtures.db.query(
            """
            SELECT deployment_id, deployment_type::text AS type, git_source->>'commitSha' AS sha, git_source->>'branch' AS branch,
              extract(epoch FROM (git_source->>'committedAt')::timestamptz)::bigint AS committed_at, git_source->>'provider' AS provider, created_by::text AS created_by
            FROM vercel_deployments WHERE project_id = \(project) ORDER BY created_at
            """
        ).map { row in
            ["deployment_id", "type", "sha", "branch", "committed_at", "provider", "created_by"].reduce(into: [:]) {
                $0[$1] = row[$1]
            }
        }
    }

    func events(_ connected: Connected) async throws -> [[String: Any]] {
        let reply = try await client.signed("GET", "\(connected.base)/auto-deploy/events?userId=\(connected.user)")
        #expect(reply.status == 200, "\(reply.text)")
        return reply.json?["events"] as? [[String: Any]] ?? []
    }

    static func decisions(_ reply: StackClient.Reply) -> [String] {
        (reply.json?["decisions"] as? [[String: Any]] ?? []).compactMap { $0["decision"] as? String }
    }

    // MARK: Each provider's push

    @Test(arguments: [
        (
            "github", "push", "github-push.json", "binkkatal/sample_app", "master",
            "fd489864e7642b48eaad6e3f155c10e46810ec72"
        ),
        (
            "gitlab", "Push Hook", "gitlab-push-event.json", "mike/diaspora", "master",
            "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
        ),
        (
            "bitbucket", "repo:push", "bitbucket-repo-push.json", "team_name/repo_name", "name-of-branch",
            "709d658dc5b6d6afcd46049c2f332ee3f515a67d"
        ),
    ])
    func aProvidersPushDeploysOnceHoweverOftenItIsDelivered(
        provider: String, event: String, file: String, repository: String, branch: String, sha: String
    ) async throws {
        let connected = try await connect(provider, repository)
        let body = try Self.fixture(file)
        let deliveryID = UUID().uuidString
        let first = try await deliver(
            provider, event: event, body: body, secret: connected.secret, deliveryID: deliveryID)
        #expect(first.status == 200, "\(first.text)")
        #expect(Self.decisions(first) == ["deployed"], "\(first.text)")
        let again = try await deliver(
            provider, event: event, body: body, secret: connected.secret, deliveryID: deliveryID)
        #expect(again.status == 200)
        #expect(Self.decisions(again) == ["duplicate"], "\(again.text)")
        // A new delivery of the same push (a manual redelivery gets a new id on some providers)
        // finds the commit's deployment by its idempotency key.
        let redelivered = try await deliver(provider, event: event, body: body, secret: connected.secret)
        #expect(Self.decisions(redelivered) == ["deployed"])

        let rows = try deployments(of: connected.linked.project)
        #expect(rows.count == 1, "\(rows)")
        let row = try #require(rows.first)
        #expect(row["sha"] == sha && row["branch"] == branch && row["type"] == "PREVIEW" && row["provider"] == provider)
        #expect(row["created_by"] == connected.user.uuidString.lowercased())
        // The commit's time as the provider reported it, kept for lead time.
        let committed = ["github": "1530281053", "gitlab": "1325626589", "bitbucket": "1433820889"][provider]
        #expect(row["committed_at"] == committed, "\(row)")
        let id = try #require(row["deployment_id"] ?? nil)
        let vercel = try connected.linked.connected.vercel.deployment(id, connected.linked.connected.credentials)
        #expect(vercel.projectId == connected.linked.vercelProject.id)
        #expect(try await connected.linked.waitForStoredState(id, "READY") == "READY")

        let events = try await events(connected)
        #expect(events.count == 2)
        #expect(events.allSatisfy { $0["decision"] as? String == "deployed" && $0["deploymentId"] as? String == id })
        #expect(events.last?["deliveryId"] as? String == deliveryID)
        #expect(events.last?["commitSha"] as? String == sha && events.last?["branch"] as? String == branch)
        #expect(events.last?["targetEnvironment"] as? String == "preview")
    }

    @Test func aWrongSecretIsRefusedAndStoresNothing() async throws {
        let github = try await connect("github", "binkkatal/sample_app")
        let gitlab = try await connect("gitlab", "mike/diaspora")
        let bitbucket = try await connect("bitbucket", "team_name/repo_name")
        let cases: [(Connected, String, String)] = [
            (github, "push", "github-push.json"), (gitlab, "Push Hook", "gitlab-push-event.json"),
            (bitbucket, "repo:push", "bitbucket-repo-push.json"),
        ]
        for (connected, event, file) in cases {
            let body = try Self.fixture(file)
            let wrong = try await deliver(connected.provider, event: event, body: body, secret: "not-the-secret-at-all")
            #expect(wrong.status == 401, "\(connected.provider) \(wrong.text)")
            #expect(wrong.code == "INVALID_WEBHOOK_SIGNATURE")
            // Proven for another body: the signature covers the exact bytes.
            if connected.provider != "gitlab" {
                var headers = ["content-type": "application/json"]
                let signature =
                    "sha256=" + Hex.encode(HMAC.sha256(key: Array(connected.secret.utf8), message: Array(body)))
                headers[connected.provider == "github" ? "X-Hub-Signature-256" : "X-Hub-Signature"] = signature
                headers[connected.provider == "github" ? "X-GitHub-Event" : "X-Event-Key"] = event
                headers[connected.provider == "github" ? "X-GitHub-Delivery" : "X-Request-UUID"] = UUID().uuidString
                var changed = body
                changed.append(0x20)
                let tampered = try await client.send(
                    "POST", "/v1/webhooks/git/\(connected.provider)", body: changed, headers: headers)
                #expect(tampered.status == 401)
            }
            // No proof at all.
            let bare = try await client.send(
                "POST", "/v1/webhooks/git/\(connected.provider)", body: body,
                headers: ["content-type": "application/json"])
            #expect(bare.status == 401)
            #expect(try deployments(of: connected.linked.project).isEmpty)
            #expect(try await events(connected).isEmpty)
            let git = try await client.signed("GET", "\(connected.base)/git?userId=\(connected.user)")
            let view = try #require(git.json?["git"] as? [String: Any])
            // The first refusal is written at once; the next ones of the minute with the next refusal after it.
            #expect((view["refusedDeliveries"] as? Int ?? 0) >= 1, "\(git.text)")
            #expect(view["webhookSecret"] == nil && !git.text.contains(connected.secret))
        }
        // A repository nobody configured.
        let unknown = try await deliver(
            "github", event: "push",
            body: Data(#"{"ref":"refs/heads/main","after":"abcdef1","repository":{"full_name":"nobody/here"}}"#.utf8),
            secret: "whatever-secret-value")
        #expect(unknown.status == 401)
    }

    // MARK: What deploys

    @Test func aDeletedBranchATagAndASkipMarkerDeployNothing() async throws {
        let connected = try await connect("github", "acme/skips-\(UUID().uuidString.prefix(6).lowercased())")
        let zero = String(repeating: "0", count: 40)
        let repository = #"{"full_name":"\#(connected.repository)"}"#
        let deleted =
            #"{"ref":"refs/heads/feature/gone","before":"abcdef1234567","after":"\#(zero)","deleted":true,"repository":\#(repository)}"#
        let tag = #"{"ref":"refs/tags/v1.0.0","after":"abcdef1234567","repository":\#(repository)}"#
        let skipped = #"""
            {"ref":"refs/heads/feature/docs","after":"abcdef1234567","head_commit":{"message":"docs only [skip ci]","timestamp":"2026-11-27T10:00:00Z"},"repository":\#(repository)}
            """#
        for (body, decision) in [(deleted, "ignored"), (tag, "ignored"), (skipped, "skipped")] {
            let reply = try await deliver("github", event: "push", body: Data(body.utf8), secret: connected.secret)
            #expect(reply.status == 200, "\(reply.text)")
            #expect(Self.decisions(reply) == [decision], "\(reply.text)")
        }
        let ping = try await deliver(
            "github", event: "ping",
            body: Data(#"{"zen":"Keep it logically awesome.","repository":\#(repository)}"#.utf8),
            secret: connected.secret)
        #expect(Self.decisions(ping) == ["ignored"])
        #expect(try deployments(of: connected.linked.project).isEmpty)
        let events = try await events(connected)
        #expect(events.count == 4)
        #expect(events.map { $0["decision"] as? String } == ["ignored", "skipped", "ignored", "ignored"])
        #expect(events[2]["reason"] as? String == "tags do not deploy")
        #expect(events[3]["reason"] as? String == "the branch was deleted")
    }

    static func pullRequest(
        repository: String, action: String = "opened", number: Int = 5, branch: String, sha: String,
        headRepository: String
    ) -> Data {
        Data(
            #"""
            {"action":"\#(action)","number":\#(number),"pull_request":{"head":{"ref":"\#(branch)","sha":"\#(sha)","repo":{"full_name":"\#(headRepository)"}},"base":{"ref":"main","sha":"1111111","repo":{"full_name":"\#(repository)"}}},"repository":{"full_name":"\#(repository)"}}
            """#.utf8)
    }

    @Test func aPushAndAPullRequestOfOneCommitDeployOnce() async throws {
        let connected = try await connect("github", "acme/once-\(UUID().uuidString.prefix(6).lowercased())")
        let sha = "5e1d7a3c9b2f4e6d8a0c1b3e5f7a9c2d4e6f8a0b"
        let push =
            #"{"ref":"refs/heads/feature/cart","after":"\#(sha)","repository":{"full_name":"\#(connected.repository)"}}"#
        let pushed = try await deliver("github", event: "push", body: Data(push.utf8), secret: connected.secret)
        #expect(Self.decisions(pushed) == ["deployed"], "\(pushed.text)")
        let opened = try await deliver(
            "github", event: "pull_request",
            body: Self.pullRequest(
                repository: connected.repository, branch: "feature/cart", sha: sha, headRepository: connected.repository
            ),
            secret: connected.secret)
        #expect(Self.decisions(opened) == ["deployed"], "\(opened.text)")
        let ids = (pushed.json?["decisions"] as? [[String: Any]])?.first?["deploymentId"] as? String
        #expect(ids != nil && ids == (opened.json?["decisions"] as? [[String: Any]])?.first?["deploymentId"] as? String)
        #expect(try deployments(of: connected.linked.project).count == 1)
        // Closing it deploys nothing.
        let closed = try await deliver(
            "github", event: "pull_request",
            body: Self.pullRequest(
                repository: connected.repository, action: "closed", branch: "feature/cart", sha: sha,
                headRepository: connected.repository),
            secret: connected.secret)
        #expect(Self.decisions(closed) == ["ignored"])
        #expect(try deployments(of: connected.linked.project).count == 1)
    }

    @Test func aDeliveryVercelFailedIsKeptAndDeployedByTheRetryJob() async throws {
        let connected = try await connect("github", "acme/retry-\(UUID().uuidString.prefix(6).lowercased())")
        try await connected.linked.connected.account.setFaults(["buildMs": 200, "serverErrors": 1])
        let sha = "d00dfeed1234567890abcdef1234567890abcdef"
        let push =
            #"{"ref":"refs/heads/feature/retry","after":"\#(sha)","repository":{"full_name":"\#(connected.repository)"}}"#
        let failed = try await deliver("github", event: "push", body: Data(push.utf8), secret: connected.secret)
        #expect(failed.status == 202, "\(failed.text)")
        #expect(Self.decisions(failed) == ["failed"], "\(failed.text)")
        #expect(try deployments(of: connected.linked.project).isEmpty)
        let queued = try fixtures.db.query(
            """
            UPDATE vercel_jobs SET run_after = now() WHERE kind = 'git.deploy' AND status = 'pending'
              AND (payload->>'deliveryRowId')::bigint IN (SELECT id FROM vercel_git_deliveries WHERE project_id = \(connected.linked.project))
            RETURNING id
            """)
        #expect(queued.count == 1)

        #expect(try JobRun.run("git-deploy") == 0)

        let rows = try deployments(of: connected.linked.project)
        #expect(rows.count == 1 && rows.first?["sha"] == sha, "\(rows)")
        let events = try await events(connected)
        #expect(events.count == 1)
        #expect(events.first?["decision"] as? String == "deployed", "\(events)")
        #expect(events.first?["deploymentId"] as? String == rows.first?["deployment_id"] ?? nil)
        let status = try fixtures.db.query(
            "SELECT status::text AS status FROM vercel_jobs WHERE id = \(Int64(queued.first?["id"] ?? "0") ?? 0)")
        #expect(status.first?["status"] == "done")
    }

    // MARK: Approvals and forks

    func approvals(_ connected: Connected, status: String? = nil) async throws -> [[String: Any]] {
        let query = status.map { "&status=\($0)" } ?? ""
        let reply = try await client.signed(
            "GET", "\(connected.base)/auto-deploy/approvals?userId=\(connected.user)\(query)")
        #expect(reply.status == 200, "\(reply.text)")
        return reply.json?["approvals"] as? [[String: Any]] ?? []
    }

    func decide(_ connected: Connected, _ id: String, _ verb: String) async throws -> StackClient.Reply {
        try await client.signed(
            "POST", "\(connected.base)/auto-deploy/approvals/\(id)/\(verb)",
            json: #"{"userId":"\#(connected.user)"}"#)
    }

    @Test func aForksPullRequestWaitsForApprovalAndDeploysItsOwnCommitOnceApproved() async throws {
        let connected = try await connect("github", "acme/forks-\(UUID().uuidString.prefix(6).lowercased())")
        let first = "aaaaaaa1111111111111111111111111111111111"
        let second = "bbbbbbb2222222222222222222222222222222222"
        let opened = try await deliver(
            "github", event: "pull_request",
            body: Self.pullRequest(
                repository: connected.repository, number: 12, branch: "patch-1", sha: String(first.prefix(40)),
                headRepository: "mallory/fork"),
            secret: connected.secret)
        #expect(Self.decisions(opened) == ["waiting_approval"], "\(opened.text)")
        #expect(try deployments(of: connected.linked.project).isEmpty, "a fork never deploys by itself")
        let older = try #require(try await approvals(connected, status: "pending").first)
        #expect(older["fromFork"] as? Bool == true && older["prNumber"] as? Int == 12)
        #expect(older["commitSha"] as? String == String(first.prefix(40)) && older["target"] as? String == "preview")

        // New commits on the pull request supersede the pending approval.
        let updated = try await deliver(
            "github", event: "pull_request",
            body: Self.pullRequest(
                repository: connected.repository, action: "synchronize", number: 12, branch: "patch-1",
                sha: String(second.prefix(40)), headRepository: "mallory/fork"),
            secret: connected.secret)
        #expect(Self.decisions(updated) == ["waiting_approval"])
        let pending = try await approvals(connected, status: "pending")
        #expect(pending.count == 1)
        let current = try #require(pending.first)
        #expect(current["commitSha"] as? String == String(second.prefix(40)))
        let superseded = try await decide(connected, try #require(older["id"] as? String), "approve")
        #expect(superseded.status == 409 && superseded.code == "APPROVAL_NOT_PENDING", "\(superseded.text)")
        #expect(superseded.json?["status"] as? String == "superseded")

        // Another user cannot approve it.
        let stranger = try fixtures.user()
        let foreign = try await client.signed(
            "POST", "\(connected.base)/auto-deploy/approvals/\(current["id"] as? String ?? "")/approve",
            json: #"{"userId":"\#(stranger)"}"#)
        #expect(foreign.status == 404 || foreign.status == 403, "\(foreign.text)")

        let approved = try await decide(connected, try #require(current["id"] as? String), "approve")
        #expect(approved.status == 200, "\(approved.text)")
        let deployment = try #require(approved.json?["deployment"] as? [String: Any])
        let source = try #require(deployment["gitSource"] as? [String: Any])
        #expect(source["commitSha"] as? String == String(second.prefix(40)) && source["prNumber"] as? Int == 12)
        #expect((approved.json?["approval"] as? [String: Any])?["status"] as? String == "approved")
        let rows = try deployments(of: connected.linked.project)
        #expect(rows.count == 1 && rows.first?["sha"] == String(second.prefix(40)))
        // Vercel was asked for that exact commit, not the branch's head.
        let id = try #require(deployment["id"] as? String)
        let vercel = try connected.linked.connected.vercel.deployment(id, connected.linked.connected.credentials)
        #expect(vercel.projectId == connected.linked.vercelProject.id)
        let again = try await decide(connected, try #require(current["id"] as? String), "approve")
        #expect(again.status == 409)
        #expect(try deployments(of: connected.linked.project).count == 1)
        // The same commit delivered again (a redelivery) is deployed already: no new approval.
        let redelivered = try await deliver(
            "github", event: "pull_request",
            body: Self.pullRequest(
                repository: connected.repository, action: "synchronize", number: 12, branch: "patch-1",
                sha: String(second.prefix(40)), headRepository: "mallory/fork"),
            secret: connected.secret)
        #expect(Self.decisions(redelivered) == ["waiting_approval"])
        let fresh = try #require(try await approvals(connected, status: "pending").first)
        let denied = try await decide(connected, try #require(fresh["id"] as? String), "deny")
        #expect(denied.status == 200 && (denied.json?["approval"] as? [String: Any])?["status"] as? String == "denied")
        #expect(try deployments(of: connected.linked.project).count == 1)
    }

    /// A provider's signature covers the body, not the delivery id: the first body of a fork's pull
    /// request, replayed under a new id after a newer commit superseded it, changes nothing. The
    /// newer commit's approval stays the one pending, and the older commit never waits again.
    @Test func aReplayedDeliveryOfASupersededCommitChangesNothing() async throws {
        let connected = try await connect("github", "acme/replay-\(UUID().uuidString.prefix(6).lowercased())")
        let first = "aaaaaaa111111111111111111111111111111111"
        let second = "bbbbbbb222222222222222222222222222222222"
        let opened = Self.pullRequest(
            repository: connected.repository, number: 99, branch: "patch-9", sha: first, headRepository: "mallory/fork")
        let openedReply = try await deliver("github", event: "pull_request", body: opened, secret: connected.secret)
        #expect(Self.decisions(openedReply) == ["waiting_approval"], "\(openedReply.text)")
        let synchronized = try await deliver(
            "github", event: "pull_request",
            body: Self.pullRequest(
                repository: connected.repository, action: "synchronize", number: 99, branch: "patch-9", sha: second,
                headRepository: "mallory/fork"),
            secret: connected.secret)
        #expect(Self.decisions(synchronized) == ["waiting_approval"], "\(synchronized.text)")

        for _ in 0..<2 {
            let replayed = try await deliver("github", event: "pull_request", body: opened, secret: connected.secret)
            #expect(replayed.status == 200, "\(replayed.text)")
            #expect(Self.decisions(replayed) == ["skipped"], "\(replayed.text)")
        }
        let pending = try await approvals(connected, status: "pending")
        #expect(pending.map { $0["commitSha"] as? String } == [second], "\(pending)")
        let all = try await approvals(connected)
        #expect(all.count == 2, "\(all)")
        #expect(all.filter { $0["commitSha"] as? String == first }.map { $0["status"] as? String } == ["superseded"])
    }

    /// Anyone who knows a repository's name can send deliveries that prove nothing: a hundred of
    /// them are each refused and counted on `/metrics`, but written to the repository's row once
    /// (the rest wait for the next refusal a minute on), not a hundred times.
    @Test func aFloodOfForgedDeliveriesCostsOneWriteNotOneEach() async throws {
        let connected = try await connect("github", "acme/flood-\(UUID().uuidString.prefix(6).lowercased())")
        let body = Data(
            #"{"ref":"refs/heads/main","after":"abcdef1","repository":{"full_name":"\#(connected.repository)"}}"#.utf8)
        func refused() async throws -> Double {
            let url = URL(string: try TestEnvironment.require("TEST_METRICS_URL") + "/metrics/webhooks")!
            let text = String(decoding: try await URLSession.shared.data(from: url).0, as: UTF8.self)
            let line = text.split(separator: "\n").first {
                $0.hasPrefix("sheen_vercel_webhook_events_total{") && $0.contains(#"source="github""#)
                    && $0.contains(#"outcome="refused""#)
            }
            return line.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
        }
        let counted = try await refused()
        for _ in 0..<100 {
            let reply = try await deliver("github", event: "push", body: body, secret: "forged-secret-0123456789")
            #expect(reply.status == 401, "\(reply.text)")
        }
        #expect(try await refused() - counted >= 100)
        let stored = try fixtures.db.query(
            "SELECT refused_deliveries FROM vercel_git_provider_credentials WHERE project_id = \(connected.linked.project)"
        )
        #expect(stored.first?["refused_deliveries"] == "1", "\(stored.map { $0["refused_deliveries"] ?? nil })")
    }

    /// A GitLab merge request hook that names neither project is from a fork until shown otherwise:
    /// it waits for approval, as GitHub's and Bitbucket's do.
    @Test func aGitLabMergeRequestWithoutItsProjectIdsWaitsForApproval() async throws {
        let connected = try await connect("gitlab", "acme/mr-\(UUID().uuidString.prefix(6).lowercased())")
        let body = #"""
            {"object_kind":"merge_request","project":{"path_with_namespace":"\#(connected.repository)"},"object_attributes":{"iid":7,"action":"open","source_branch":"fix","last_commit":{"id":"da1560886d4f094c3e6c9ef40349f7d38b5d27d7","message":"m"}}}
            """#
        let reply = try await deliver(
            "gitlab", event: "Merge Request Hook", body: Data(body.utf8), secret: connected.secret)
        #expect(Self.decisions(reply) == ["waiting_approval"], "\(reply.text)")
        #expect(try deployments(of: connected.linked.project).isEmpty)
    }

    @Test func rulesDecideAndTheTestRouteUsesTheSameEvaluator() async throws {
        let connected = try await connect(
            "github", "acme/rules-\(UUID().uuidString.prefix(6).lowercased())",
            settings: ["branchPatterns": ["main", "release/**", "!release/wip"], "targetEnvironment": "auto"])
        let rule = try await client.signed(
            "POST", "\(connected.base)/auto-deploy/rules",
            json: Self.json([
                "userId": connected.user.uuidString, "pattern": "release/**", "target": "preview",
                "requiresApproval": true,
            ]))
        #expect(rule.status == 201, "\(rule.text)")
        let duplicate = try await client.signed(
            "POST", "\(connected.base)/auto-deploy/rules",
            json: Self.json(["userId": connected.user.uuidString, "pattern": "release/**", "target": "preview"]))
        #expect(duplicate.status == 409 && duplicate.code == "RULE_EXISTS")
        let invalid = try await client.signed(
            "POST", "\(connected.base)/auto-deploy/rules",
            json: Self.json(["userId": connected.user.uuidString, "pattern": "bad pattern", "target": "preview"]))
        #expect(invalid.status == 400 && invalid.code == "INVALID_RULE")

        func test(_ branch: String) async throws -> [String: any Sendable] {
            let reply = try await client.signed(
                "POST", "\(connected.base)/auto-deploy/test",
                json: Self.json(["userId": connected.user.uuidString, "branch": branch, "dryRun": true]))
            #expect(reply.status == 200, "\(reply.text)")
            return reply.json ?? [:]
        }
        let release = try await test("release/2.0")
        #expect(release["wouldDeploy"] as? Bool == true && release["matchedPattern"] as? String == "release/**")
        #expect(release["targetEnvironment"] as? String == "preview" && release["requiresApproval"] as? Bool == true)
        let main = try await test("main")
        #expect(main["wouldDeploy"] as? Bool == true && main["targetEnvironment"] as? String == "production")
        let docs = try await test("docs/x")
        #expect(docs["wouldDeploy"] as? Bool == false && docs["matchedPattern"] is NSNull)

        // A push to a release branch waits for approval, as the test route said.
        let sha = "c0ffee0c0ffee0c0ffee0c0ffee0c0ffee0c0ffe"
        let push =
            #"{"ref":"refs/heads/release/2.0","after":"\#(sha)","repository":{"full_name":"\#(connected.repository)"}}"#
        let pushed = try await deliver("github", event: "push", body: Data(push.utf8), secret: connected.secret)
        #expect(Self.decisions(pushed) == ["waiting_approval"], "\(pushed.text)")
        let nothing =
            #"{"ref":"refs/heads/docs/x","after":"\#(sha)","repository":{"full_name":"\#(connected.repository)"}}"#
        let ignored = try await deliver("github", event: "push", body: Data(nothing.utf8), secret: connected.secret)
        #expect(Self.decisions(ignored) == ["skipped"])
        #expect(try deployments(of: connected.linked.project).isEmpty)

        let removed = try await client.signed(
            "DELETE", "\(connected.base)/auto-deploy/rules/release%2F%2A%2A?userId=\(connected.user)")
        #expect(removed.status == 200, "\(removed.text)")
        let rules = try await client.signed("GET", "\(connected.base)/auto-deploy/rules?userId=\(connected.user)")
        #expect((rules.json?["rules"] as? [Any])?.isEmpty == true)
        let config = try await client.signed("GET", "\(connected.base)/auto-deploy/config?userId=\(connected.user)")
        let view = try #require(config.json?["config"] as? [String: Any])
        #expect(view["branchPatterns"] as? [String] == ["main", "release/**", "!release/wip"])
        // The link's settings are the same ones.
        let link = try await client.signed(
            "GET", "\(connected.base)/projects/\(connected.linked.vercelProject.id)?userId=\(connected.user)")
        let mapping = try #require(link.json?["mapping"] as? [String: Any])
        #expect(mapping["deploymentBranchPatterns"] as? [String] == ["main", "release/**", "!release/wip"])
    }

    // MARK: The repository's configuration

    @Test func theRepositoryIsCheckedAndItsSecretRotatesWithoutRefusingTheOldOne() async throws {
        let repository = "acme/rotate-\(UUID().uuidString.prefix(6).lowercased())"
        let connected = try await connect("github", repository, secret: "first-secret-0123456789")
        #expect(connected.secret == "first-secret-0123456789")
        let mismatch = try await client.signed(
            "PUT", "\(connected.base)/git",
            json: Self.json(["userId": connected.user.uuidString, "provider": "github", "repository": "acme/other"]))
        #expect(mismatch.status == 409 && mismatch.code == "REPOSITORY_MISMATCH", "\(mismatch.text)")
        let badSecret = try await client.signed(
            "PUT", "\(connected.base)/git",
            json: Self.json([
                "userId": connected.user.uuidString, "provider": "github", "repository": repository,
                "webhookSecret": "short",
            ]))
        #expect(badSecret.status == 400 && badSecret.code == "INVALID_WEBHOOK_SECRET")
        let rotated = try await client.signed(
            "PUT", "\(connected.base)/git",
            json: Self.json(["userId": connected.user.uuidString, "provider": "github", "repository": repository]))
        #expect(rotated.status == 200)
        let generated = try #require(rotated.json?["webhookSecret"] as? String)
        #expect(generated.hasPrefix("whsec_") && generated.count > 40)
        let git = try #require(rotated.json?["git"] as? [String: Any])
        #expect(git["previousSecretValidUntil"] as? String != nil)
        #expect(
            (git["webhookUrl"] as? String)?.hasSuffix(
                "/v1/webhooks/git/github?projectId=\(connected.linked.project.uuidString.lowercased())") == true)

        let push =
            #"{"ref":"refs/heads/feature/a","after":"abcdef1234567","repository":{"full_name":"\#(repository.uppercased())"}}"#
        for secret in ["first-secret-0123456789", generated] {
            let reply = try await deliver("github", event: "push", body: Data(push.utf8), secret: secret)
            #expect(reply.status == 200, "\(reply.text)")
        }
        let shown = try await client.signed("GET", "\(connected.base)/git?userId=\(connected.user)")
        #expect(!shown.text.contains(generated) && !shown.text.contains("first-secret"))
        let sealed = try fixtures.db.query(
            """
            SELECT webhook_secret_sealed, previous_webhook_secret_sealed FROM vercel_git_provider_credentials
            WHERE project_id = \(connected.linked.project)
            """)[0]
        #expect(sealed["webhook_secret_sealed"]?.hasPrefix("v1.") == true)
        #expect(sealed["previous_webhook_secret_sealed"]?.hasPrefix("v1.") == true)
        #expect(sealed["webhook_secret_sealed"]?.contains(generated) == false)

        let removed = try await client.signed("DELETE", "\(connected.base)/git?userId=\(connected.user)")
        #expect(removed.json?["removed"] as? Bool == true)
        let after = try await deliver("github", event: "push", body: Data(push.utf8), secret: generated)
        #expect(after.status == 401)
        let gone = try await client.signed("GET", "\(connected.base)/git?userId=\(connected.user)")
        #expect((gone.json?["git"] as? [String: Any])?["configured"] as? Bool == false)
    }
}
