import Foundation
import TestSupport
import Testing
import Vercel

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Feedback on pull requests through nginx, the webhooks and `vercel-job-git-feedback` against the
/// simulator's GitHub, GitLab and Bitbucket: one sticky comment per pull request that follows its
/// previews, commit statuses, bursts coalesced, a deleted comment made again once, rate limits
/// waited out. Serialized: each test runs the job, and the job's two slots are the limit.
@Suite(.serialized) struct GitFeedbackTests {
    let git: GitAutoDeployTests
    let simulator: String

    init() throws {
        git = try GitAutoDeployTests()
        simulator = try TestEnvironment.require("TEST_SIMULATOR_URL")
    }

    var fixtures: StackFixtures { git.fixtures }

    /// A project connected to `repository` with a provider token the simulator knows as `bot`.
    func connect(
        _ provider: String, _ repository: String, bot: String, buildMs: Int = 300, secret: String? = nil,
        revoked: Bool = false
    ) async throws -> (GitAutoDeployTests.Connected, token: String) {
        let token = "tok_\(UUID().uuidString.prefix(12).lowercased())"
        try await admin("POST", "/_sim/git/tokens", ["token": token, "user": bot, "revoked": revoked])
        let connected = try await git.connect(provider, repository, secret: secret, token: token, buildMs: buildMs)
        return (connected, token)
    }

    @discardableResult
    func admin(_ method: String, _ path: String, _ body: [String: Any]?) async throws -> [String: Any] {
        var request = URLRequest(url: URL(string: simulator + path)!)
        request.httpMethod = method
        if let body {
            request.httpBody = try JSONSerialization.data(withJSONObject: body)
            request.setValue("application/json", forHTTPHeaderField: "content-type")
        }
        let (data, _) = try await URLSession.shared.data(for: request)
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
    }

    /// What the pull request shows on the simulated provider, and the calls `token` made.
    func shown(
        _ provider: String, _ repository: String, _ number: Int, token: String
    ) async throws -> (
        comments: [[String: Any]], statuses: [String: [[String: Any]]], calls: [String]
    ) {
        let query = "provider=\(provider)&repository=\(repository)&number=\(number)&token=\(token)"
        let answer = try await admin("GET", "/_sim/git/pulls?\(query.replacingOccurrences(of: "/", with: "%2F"))", nil)
        return (
            answer["comments"] as? [[String: Any]] ?? [], answer["statuses"] as? [String: [[String: Any]]] ?? [:],
            answer["calls"] as? [String] ?? []
        )
    }

    /// Runs the feedback job once; its log line.
    @discardableResult
    func runJob() throws -> String {
        let job = Process()
        job.executableURL = URL(
            fileURLWithPath: try TestEnvironment.require("TEST_BIN_DIR") + "/vercel-job-git-feedback")
        var environment = ProcessInfo.processInfo.environment
        environment.merge(try TestEnvironment.stackConfiguration()) { $1 }
        job.environment = environment
        let output = Pipe()
        job.standardError = output
        job.standardOutput = output
        try job.run()
        let log = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        job.waitUntilExit()
        #expect(job.terminationStatus == 0, "\(log)")
        return log
    }

    /// A pull request opened (or given the commit `sha`), as `provider` delivers it.
    func pullRequest(
        _ provider: String, _ repository: String, number: Int, sha: String, update: Bool = false
    ) -> (event: String, body: Data) {
        switch provider {
        case "github":
            return (
                "pull_request",
                GitAutoDeployTests.pullRequest(
                    repository: repository, action: update ? "synchronize" : "opened", number: number,
                    branch: "feature/cart", sha: sha, headRepository: repository)
            )
        case "gitlab":
            let oldrev = update ? #","oldrev":"1111111111111111111111111111111111111111""# : ""
            return (
                "Merge Request Hook",
                Data(
                    #"""
                    {"object_kind":"merge_request","project":{"path_with_namespace":"\#(repository)"},"object_attributes":{"iid":\#(number),"action":"\#(update ? "update" : "open")","source_branch":"feature/cart","source_project_id":7,"target_project_id":7,"last_commit":{"id":"\#(sha)","message":"work","timestamp":"2026-11-27T10:00:00Z"}\#(oldrev)}}
                    """#.utf8)
            )
        default:
            return (
                update ? "pullrequest:updated" : "pullrequest:created",
                Data(
                    #"""
                    {"repository":{"full_name":"\#(repository)"},"pullrequest":{"id":\#(number),"source":{"branch":{"name":"feature/cart"},"commit":{"hash":"\#(sha)"},"repository":{"full_name":"\#(repository)"}},"destination":{"branch":{"name":"main"},"repository":{"full_name":"\#(repository)"}}}}
                    """#.utf8)
            )
        }
    }

    static func sha() -> String {
        (UUID().uuidString + UUID().uuidString).lowercased().filter(\.isHexDigit).prefix(40).description
    }

    func deploymentIDs(_ reply: StackClient.Reply) -> [String] {
        (reply.json?["decisions"] as? [[String: Any]] ?? []).compactMap { $0["deploymentId"] as? String }
    }

    // MARK: One comment that follows the preview

    @Test(arguments: ["github", "gitlab", "bitbucket"])
    func aPullRequestGetsOneCommentThatFollowsItsPreviewFromBuildingToReady(provider: String) async throws {
        let repository = "acme/feedback-\(UUID().uuidString.prefix(6).lowercased())"
        // The build lasts until the test ends it, so the first run of the job finds it building
        // however slowly the machine gets there.
        let (connected, token) = try await connect(provider, repository, bot: "sheen-bot", buildMs: 600_000)
        try fixtures.db.execute("UPDATE projects SET name = 'storefront' WHERE id = \(connected.linked.project)")
        let sha = Self.sha()
        let (event, body) = pullRequest(provider, repository, number: 7, sha: sha)
        let opened = try await git.deliver(provider, event: event, body: body, secret: connected.secret)
        let deployment = try #require(deploymentIDs(opened).first, "\(opened.text)")

        try runJob()
        var pull = try await shown(provider, repository, 7, token: token)
        #expect(pull.comments.count == 1, "\(pull.comments)")
        let building = try #require(pull.comments.first?["body"] as? String)
        #expect(building.hasPrefix("<!-- sheen-vercel:deployments -->"))
        #expect(building.contains("| storefront | ⏳ Building |"), "\(building)")
        #expect(pull.comments.first?["author"] as? String == "sheen-bot")
        let pending = try #require(pull.statuses[sha]?.last)
        #expect(pending["context"] as? String == "sheen/storefront")
        #expect(
            pending["state"] as? String
                == ["github": "pending", "gitlab": "running", "bitbucket": "INPROGRESS"][provider])

        try await connected.linked.connected.account.admin("POST", "/_sim/deployments/\(deployment)/finish", nil)
        #expect(try await connected.linked.waitForStoredState(deployment, "READY") == "READY")
        try runJob()
        pull = try await shown(provider, repository, 7, token: token)
        #expect(pull.comments.count == 1, "the comment is edited in place: \(pull.comments)")
        let ready = try #require(pull.comments.first?["body"] as? String)
        #expect(ready.contains("| storefront | ✅ Ready | [Visit preview](https://"), "\(ready)")
        let success = try #require(pull.statuses[sha]?.last)
        #expect(
            success["state"] as? String
                == ["github": "success", "gitlab": "success", "bitbucket": "SUCCESSFUL"][provider])
        #expect((success["targetUrl"] as? String)?.hasPrefix("https://") == true)

        // Nothing changed: no call at all.
        let before = pull.calls.count
        try runJob()
        #expect(try await shown(provider, repository, 7, token: token).calls.count == before)
    }

    // MARK: Bursts

    @Test func fiftyRapidChangesEndInOneCommentShowingTheFinalState() async throws {
        let repository = "acme/burst-\(UUID().uuidString.prefix(6).lowercased())"
        let (connected, token) = try await connect("github", repository, bot: "sheen-bot", buildMs: 50)
        var last = ""
        var lastDeployment = ""
        for index in 0..<50 {
            last = Self.sha()
            let (event, body) = pullRequest("github", repository, number: 3, sha: last, update: index > 0)
            let reply = try await git.deliver("github", event: event, body: body, secret: connected.secret)
            lastDeployment = try #require(deploymentIDs(reply).first, "\(reply.text)")
        }
        #expect(try await connected.linked.waitForStoredState(lastDeployment, "READY") == "READY")
        // All fifty builds and their webhooks are in: one queued unit for the pull request.
        let queued = try fixtures.db.query(
            """
            SELECT count(*) AS n, max((payload->>'version')::int) AS version FROM vercel_jobs
            WHERE kind = 'git.feedback' AND status = 'pending' AND payload->>'repository' = \(repository)
            """)[0]
        #expect(queued["n"] == "1")
        #expect(Int(queued["version"] ?? "0") ?? 0 >= 50, "\(queued)")

        try runJob()
        let pull = try await shown("github", repository, 3, token: token)
        #expect(pull.comments.count == 1)
        let body = try #require(pull.comments.first?["body"] as? String)
        #expect(body.contains("✅ Ready"), "\(body)")
        let deployments = try fixtures.db.query(
            "SELECT deployment_url FROM vercel_deployments WHERE deployment_id = \(lastDeployment)")
        #expect(body.contains(try #require(deployments.first?["deployment_url"] ?? nil)), "the last deployment's URL")
        let commentCalls = pull.calls.filter {
            $0.hasSuffix(" comment") || $0.hasSuffix(" comments") || $0.hasSuffix(" user")
        }
        let statusCalls = pull.calls.filter { $0.hasSuffix(" status") }
        #expect(commentCalls.count <= 4, "\(pull.calls)")
        #expect(statusCalls.count <= 2, "\(pull.calls)")
        #expect(pull.statuses[last]?.last?["state"] as? String == "success")
    }

    // MARK: Sticky

    @Test func aCommentDeletedByAPersonIsMadeAgainOnceAndALostIdIsFoundByItsMarker() async throws {
        let repository = "acme/sticky-\(UUID().uuidString.prefix(6).lowercased())"
        let (connected, token) = try await connect("github", repository, bot: "sheen-bot", buildMs: 50)
        func push(_ update: Bool) async throws {
            let (event, body) = pullRequest("github", repository, number: 9, sha: Self.sha(), update: update)
            let reply = try await git.deliver("github", event: event, body: body, secret: connected.secret)
            let id = try #require(deploymentIDs(reply).first)
            #expect(try await connected.linked.waitForStoredState(id, "READY") == "READY")
        }
        try await push(false)
        try runJob()
        let first = try #require(try await shown("github", repository, 9, token: token).comments.first)
        let firstID = try #require(first["id"] as? Int)

        // A person deletes it; the next change makes it again, once.
        try await admin("DELETE", "/_sim/git/comments/\(firstID)", nil)
        try await push(true)
        try runJob()
        var comments = try await shown("github", repository, 9, token: token).comments
        #expect(comments.count == 1)
        let secondID = try #require(comments.first?["id"] as? Int)
        #expect(secondID != firstID)
        let stored = try fixtures.db.query(
            "SELECT comment_id FROM vercel_git_pr_comments WHERE lower(repository) = \(repository) AND pr_number = 9")
        #expect(stored.first?["comment_id"] == "\(secondID)")

        // The id is lost: the comment is found again by its marker and author, not made twice.
        try fixtures.db.execute(
            "UPDATE vercel_git_pr_comments SET comment_id = NULL WHERE lower(repository) = \(repository) AND pr_number = 9"
        )
        try await push(true)
        try runJob()
        comments = try await shown("github", repository, 9, token: token).comments
        #expect(comments.count == 1)
        #expect(comments.first?["id"] as? Int == secondID)

        // Someone else's comment that carries the marker is not taken for ours: with ours gone and
        // its id lost, a new one is made and theirs is left as it is.
        let mallory = "tok_\(UUID().uuidString.prefix(12).lowercased())"
        try await admin("POST", "/_sim/git/tokens", ["token": mallory, "user": "mallory"])
        var request = URLRequest(url: URL(string: simulator + "/github/repos/\(repository)/issues/9/comments")!)
        request.httpMethod = "POST"
        request.setValue("Bearer \(mallory)", forHTTPHeaderField: "authorization")
        request.httpBody = try JSONSerialization.data(withJSONObject: [
            "body": "<!-- sheen-vercel:deployments -->\nfake"
        ])
        _ = try await URLSession.shared.data(for: request)
        try await admin("DELETE", "/_sim/git/comments/\(secondID)", nil)
        try fixtures.db.execute(
            "UPDATE vercel_git_pr_comments SET comment_id = NULL WHERE lower(repository) = \(repository) AND pr_number = 9"
        )
        try await push(true)
        try runJob()
        comments = try await shown("github", repository, 9, token: token).comments
        #expect(comments.count == 2, "\(comments)")
        #expect(comments.filter { $0["author"] as? String == "sheen-bot" }.count == 1)
        #expect(
            comments.first { $0["author"] as? String == "mallory" }?["body"] as? String
                == "<!-- sheen-vercel:deployments -->\nfake")
    }

    @Test func twoProjectsBuiltFromOnePullRequestShareOneCommentWithTwoRows() async throws {
        let repository = "acme/mono-\(UUID().uuidString.prefix(6).lowercased())"
        let secret = "shared-webhook-secret-\(UUID().uuidString.prefix(8))"
        let (first, token) = try await connect("github", repository, bot: "sheen-bot", buildMs: 50, secret: secret)
        try fixtures.db.execute("UPDATE projects SET name = 'web' WHERE id = \(first.linked.project)")
        // A second project of the same owner, built from the same repository.
        let owner = first.linked.connected
        let vercelProject = try owner.vercel.createProject(
            VercelProjectSettings(
                name: "docs-\(UUID().uuidString.prefix(8).lowercased())", framework: "nextjs",
                gitRepository: .init(type: "github", repo: repository)),
            owner.credentials)
        let second = try fixtures.project(owner: owner.user)
        try fixtures.db.execute("UPDATE projects SET name = 'docs' WHERE id = \(second)")
        let linked = try await git.client.signed(
            "POST", "/v1/projects/\(second)/vercel/projects/link",
            json: #"{"userId":"\#(owner.user)","vercelProjectId":"\#(vercelProject.id)"}"#)
        #expect(linked.status == 200, "\(linked.text)")
        let put = try await git.client.signed(
            "PUT", "/v1/projects/\(second)/vercel/git",
            json: GitAutoDeployTests.json([
                "userId": owner.user.uuidString, "provider": "github", "repository": repository,
                "webhookSecret": secret,
                "token": token,
            ]))
        #expect(put.status == 200, "\(put.text)")

        let (event, body) = pullRequest("github", repository, number: 4, sha: Self.sha())
        let reply = try await git.deliver("github", event: event, body: body, secret: secret)
        let ids = deploymentIDs(reply)
        #expect(ids.count == 2, "\(reply.text)")
        for id in ids { #expect(try await first.linked.waitForStoredState(id, "READY") == "READY") }
        try runJob()
        let pull = try await shown("github", repository, 4, token: token)
        #expect(pull.comments.count == 1, "\(pull.comments)")
        let text = try #require(pull.comments.first?["body"] as? String)
        #expect(text.contains("| docs | ✅ Ready |") && text.contains("| web | ✅ Ready |"), "\(text)")
        #expect(text.range(of: "| docs |")!.lowerBound < text.range(of: "| web |")!.lowerBound, "sorted by name")
        #expect(
            pull.statuses.values.first?.compactMap { $0["context"] as? String }.sorted() == ["sheen/docs", "sheen/web"])
    }

    // MARK: Limits and refusals

    @Test(arguments: [false, true])
    func aRateLimitedProviderGetsTheUpdateAfterItsReset(secondary: Bool) async throws {
        let repository = "acme/limits-\(UUID().uuidString.prefix(6).lowercased())"
        let (connected, token) = try await connect("github", repository, bot: "sheen-bot", buildMs: 50)
        let (event, body) = pullRequest("github", repository, number: 11, sha: Self.sha())
        let reply = try await git.deliver("github", event: event, body: body, secret: connected.secret)
        let id = try #require(deploymentIDs(reply).first)
        #expect(try await connected.linked.waitForStoredState(id, "READY") == "READY")
        try await admin(
            "PUT", "/_sim/git/faults", ["token": token, "rateLimited": 1, "resetSeconds": 8, "secondary": secondary])
        try runJob()
        #expect(try await shown("github", repository, 11, token: token).comments.isEmpty)
        let waiting = try fixtures.db.query(
            """
            SELECT status::text AS status, extract(epoch FROM run_after - now()) AS wait, last_error FROM vercel_jobs
            WHERE kind = 'git.feedback' AND payload->>'repository' = \(repository)
            """)
        #expect(waiting.count == 1 && waiting.first?["status"] == "pending", "\(waiting)")
        let wait = Double(waiting.first?["wait"] ?? "") ?? 0
        // The reset is far enough off that a slow machine's job still runs before it.
        #expect(wait >= 3 && wait <= 8.5, "waits for the reset: \(wait)")
        // Before the reset nothing is sent; after it, the update arrives.
        try runJob()
        #expect(try await shown("github", repository, 11, token: token).comments.isEmpty)
        try await Task.sleep(for: .seconds(wait + 0.5))
        try runJob()
        let pull = try await shown("github", repository, 11, token: token)
        #expect(pull.comments.count == 1)
        #expect((pull.comments.first?["body"] as? String)?.contains("✅ Ready") == true)
    }

    @Test func aTokenTheProviderRefusesRaisesAnAlertToReconnect() async throws {
        let repository = "acme/refused-\(UUID().uuidString.prefix(6).lowercased())"
        let (connected, _) = try await connect("github", repository, bot: "sheen-bot", buildMs: 50, revoked: true)
        let (event, body) = pullRequest("github", repository, number: 2, sha: Self.sha())
        let reply = try await git.deliver("github", event: event, body: body, secret: connected.secret)
        #expect(deploymentIDs(reply).count == 1)
        try runJob()
        // The delivery's own feedback job, the first; the deployment's READY may have queued another
        // since, still pending.
        let job = try fixtures.db.query(
            """
            SELECT status::text AS status, last_error FROM vercel_jobs
            WHERE kind = 'git.feedback' AND payload->>'repository' = \(repository) ORDER BY id
            """)
        #expect(job.first?["status"] == "dead", "\(job)")
        let alerts = try fixtures.db.query(
            """
            SELECT payload->>'body' AS body FROM vercel_jobs WHERE kind = 'alert' AND payload->>'type' = 'git.reconnect_required'
              AND payload->>'body' LIKE \("%\(repository.split(separator: "/").last ?? "")%")
            """)
        #expect(alerts.count == 1)
        #expect(alerts.first?["body"]?.contains(connected.user.uuidString.lowercased()) == true)
        #expect(alerts.first?["body"]?.contains("tok_") == false, "no token in an alert")
    }
}
