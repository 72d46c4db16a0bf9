import Crypto
import Foundation
import Kernel
import Platform
import PlatformHost
import Testing
import WebhooksGroup

/// The git webhook route, called in process with a real GitHub push body
/// (`Tests/Fixtures/git/github-push.json`): the proof over the exact body, one deployment for the
/// push, a redelivery that decides nothing again, and the round trips of a push that deploys.
@Suite(.serialized) struct GitWebhookRouteTests {
    let harness: GroupHarness
    let project: UUID
    let secret = "git-hook-secret-0123456789abcdef"

    init() throws {
        harness = try GroupHarness(WebhooksGroup.group)
        let user = try harness.user()
        project = try harness.project(of: user)
        try harness.link(project, connection: try harness.connect(user), productionBranch: "master")
        _ = try GitRepositoryStore(database: harness.db, keyRing: harness.keyRing).configure(
            project, provider: .github, repository: "binkkatal/sample_app", secret: secret, token: nil)
    }

    static var push: [UInt8] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/git/github-push.json")
        return Array((try? Data(contentsOf: url)) ?? Data())
    }

    func deliver(_ body: [UInt8], secret: String, id: String) -> GroupHarness.Answer {
        harness.send(
            "POST", "/v1/webhooks/git/github", body: body,
            headers: [
                "content-type": "application/json", "x-github-event": "push", "x-github-delivery": id,
                "x-hub-signature-256": "sha256=" + Hex.encode(HMAC.sha256(key: Array(secret.utf8), message: body)),
            ])
    }

    @Test func aProvenPushDeploysOnceAndItsRedeliveryDecidesNothing() throws {
        defer { harness.drop() }
        harness.vercel.on(
            "GET", "/v9/projects/prj_1",
            json: VercelJSON.project.replacingOccurrences(
                of: #""productionBranch":"main""#, with: #""productionBranch":"master""#))
        harness.vercel.on(
            "POST", "/v13/deployments", json: VercelJSON.deployment("dpl_push", state: "QUEUED", target: "production"))
        let body = Self.push
        #expect(!body.isEmpty)

        let forged = deliver(body, secret: "not-the-secret", id: "d-forged")
        #expect(forged.status == 401, "\(forged.text)")
        #expect(!harness.vercel.sent.contains("POST /v13/deployments"), "an unproven push deploys nothing")

        let first = deliver(body, secret: secret, id: "d-1")
        #expect(first.status == 200, "\(first.text)")
        let decisions = try #require(first.json["decisions"] as? [[String: Any]])
        #expect(decisions.map { $0["decision"] as? String } == ["deployed"], "\(first.text)")
        #expect(decisions.first?["deploymentId"] as? String == "dpl_push")
        // Two of them register the deployment's smoke check: its claim and its record.
        #expect(first.statements <= 11, "a push that deploys took \(first.statements) round trips")

        let again = deliver(body, secret: secret, id: "d-1")
        #expect((again.json["decisions"] as? [[String: Any]])?.first?["decision"] as? String == "duplicate")
        #expect(harness.vercel.sent.filter { $0 == "POST /v13/deployments" }.count == 1)
    }

    /// A GitLab and a Bitbucket push, from their documentation's example bodies, each proven as
    /// its provider proves it: the token header for GitLab, an HMAC of the body for Bitbucket.
    @Test(arguments: [
        (GitProvider.gitlab, "Push Hook", "gitlab-push-event.json", "mike", "diaspora", "master", "production"),
        (GitProvider.bitbucket, "repo:push", "bitbucket-repo-push.json", "team_name", "repo_name", "main", "preview"),
    ])
    func aPushOfEachProviderDeploysOnceWhenProven(
        provider: GitProvider, event: String, fixture: String, owner: String, name: String, productionBranch: String,
        target: String
    ) throws {
        defer { harness.drop() }
        let user = try harness.user()
        let other = try harness.project(of: user)
        try harness.link(
            other, connection: try harness.connect(user), vercelProjectID: "prj_2", productionBranch: productionBranch,
            // Vercel builds a GitLab repository by its numeric project id.
            repository: .init(type: provider.rawValue, repo: name, org: owner, repoId: provider == .gitlab ? "15" : nil)
        )
        let hookSecret = "hook-secret-\(provider.rawValue)-0123456789abcdef"
        _ = try GitRepositoryStore(database: harness.db, keyRing: harness.keyRing).configure(
            other, provider: provider, repository: "\(owner)/\(name)", secret: hookSecret, token: nil)
        harness.vercel.on(
            "POST", "/v13/deployments",
            json: VercelJSON.deployment("dpl_\(provider.rawValue)", state: "QUEUED", project: "prj_2"))
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/git/\(fixture)")
        let body = Array(try Data(contentsOf: url))

        func deliver(secret: String, id: String) -> GroupHarness.Answer {
            var headers = [
                "content-type": "application/json", provider.eventHeader: event, provider.deliveryHeader: id,
            ]
            switch provider {
            case .gitlab: headers["x-gitlab-token"] = secret
            default:
                headers["x-hub-signature"] =
                    "sha256=" + Hex.encode(HMAC.sha256(key: Array(secret.utf8), message: body))
            }
            return harness.send("POST", "/v1/webhooks/git/\(provider.rawValue)", body: body, headers: headers)
        }

        #expect(deliver(secret: "not-the-secret", id: "forged").status == 401)
        let first = deliver(secret: hookSecret, id: "delivery-1")
        #expect(first.status == 200, "\(first.text)")
        let decision = try #require((first.json["decisions"] as? [[String: Any]])?.first, "\(first.text)")
        #expect(decision["decision"] as? String == "deployed", "\(first.text)")
        #expect(decision["deploymentId"] as? String == "dpl_\(provider.rawValue)")
        // Two of them register the deployment's smoke check: its claim and its record.
        #expect(first.statements <= 11, "a \(provider.rawValue) push that deploys took \(first.statements) round trips")
        let again = deliver(secret: hookSecret, id: "delivery-1")
        #expect((again.json["decisions"] as? [[String: Any]])?.first?["decision"] as? String == "duplicate")
        #expect(harness.vercel.sent.filter { $0 == "POST /v13/deployments" }.count == 1)
        let sentTarget = try #require(
            try harness.db.query(
                "SELECT deployment_type::text AS t FROM vercel_deployments WHERE project_id = \(other)"
            )
            .first?["t"])
        #expect(sentTarget.lowercased() == target)
    }
}
