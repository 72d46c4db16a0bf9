import DeploymentsGroup
import Foundation
import Platform
import PlatformHost
import Testing

/// The auto-deploy and git repository routes of the `deployments` group, called in process: the
/// settings and rules a push is decided by, the dry run of that decision, the approvals a person
/// decides (one deploys through Vercel, one deploys nothing), the events page, and the repository
/// whose secret is answered once.
@Suite(.serialized) struct AutoDeployRouteTests {
    let harness: GroupHarness
    let user: UUID
    let project: UUID

    init() throws {
        harness = try GroupHarness(DeploymentsGroup.group)
        user = try harness.user()
        project = try harness.project(of: user)
        try harness.link(project, connection: try harness.connect(user))
    }

    var base: String { "/v1/projects/\(project.uuidString.lowercased())/vercel" }

    @Test func theSettingsAndRulesDecideWhatTheDryRunSays() throws {
        defer { harness.drop() }
        let config = try harness.call(
            "PUT", "\(base)/auto-deploy/config", as: user,
            json: ["enabled": true, "branchPatterns": ["main", "release/**"], "targetEnvironment": "auto"])
        #expect(config.status == 200, "\(config.text)")
        let read = try harness.call("GET", "\(base)/auto-deploy/config", as: user)
        let stored = try #require(read.json["config"] as? [String: Any], "\(read.text)")
        #expect(stored["branchPatterns"] as? [String] == ["main", "release/**"])
        #expect(stored["productionBranch"] as? String == "main")
        #expect(
            try harness.call("PUT", "\(base)/auto-deploy/config", as: user, json: ["targetEnvironment": "staging"])
                .code == "INVALID_TARGET_ENVIRONMENT")

        let added = try harness.call(
            "POST", "\(base)/auto-deploy/rules", as: user,
            json: ["pattern": "release/**", "target": "production", "requiresApproval": true])
        #expect(added.status == 201, "\(added.text)")
        #expect(
            try harness.call(
                "POST", "\(base)/auto-deploy/rules", as: user, json: ["pattern": "release/**", "target": "preview"]
            ).code == "RULE_EXISTS")
        let rules = try harness.call("GET", "\(base)/auto-deploy/rules", as: user)
        #expect((rules.json["rules"] as? [[String: Any]])?.map { $0["pattern"] as? String } == ["release/**"])

        let release = try harness.call(
            "POST", "\(base)/auto-deploy/test", as: user, json: ["branch": "release/1.2"])
        #expect(release.json["wouldDeploy"] as? Bool == true, "\(release.text)")
        #expect(release.json["targetEnvironment"] as? String == "production")
        #expect(release.json["requiresApproval"] as? Bool == true)
        let other = try harness.call("POST", "\(base)/auto-deploy/test", as: user, json: ["branch": "feature/x"])
        #expect(other.json["wouldDeploy"] as? Bool == false, "\(other.text)")
        #expect(
            try harness.call("POST", "\(base)/auto-deploy/test", as: user, json: ["branch": "bad..branch"]).code
                == "INVALID_BRANCH")
        #expect(harness.vercel.sent.isEmpty, "a dry run calls no one")

        let removed = try harness.call("DELETE", "\(base)/auto-deploy/rules/release%2F%2A%2A", as: user)
        #expect(removed.json["removed"] as? Bool == true, "\(removed.text)")
        #expect(
            try harness.call("DELETE", "\(base)/auto-deploy/rules/release%2F%2A%2A", as: user).code
                == "RULE_NOT_FOUND")
    }

    /// A pending approval, as a delivery from a fork leaves one.
    func approval(sha: String, pr: Int) throws -> UUID {
        var change = GitDelivery.Change(kind: "pull_request")
        change.branch = "feature/\(pr)"
        change.commitSha = sha
        change.prNumber = pr
        change.fromFork = true
        change.committedAt = Date()
        let approval = try #require(
            try AutoDeployStore(database: harness.db).requestApproval(
                projectID: project, provider: .github, repository: "acme/site", change: change, sha: sha,
                target: .preview, reason: "a pull request from a fork waits for approval"))
        return approval.id
    }

    @Test func anApprovalDeploysItsCommitOnceAndADenialDeploysNothing() throws {
        defer { harness.drop() }
        harness.vercel.on("POST", "/v13/deployments", json: VercelJSON.deployment("dpl_approved", state: "QUEUED"))
        let approved = try approval(sha: String(repeating: "a", count: 40), pr: 7)
        let denied = try approval(sha: String(repeating: "b", count: 40), pr: 8)

        let pending = try harness.call("GET", "\(base)/auto-deploy/approvals?status=pending", as: user)
        #expect((pending.json["approvals"] as? [[String: Any]])?.count == 2, "\(pending.text)")
        let maybe = try harness.call("GET", "\(base)/auto-deploy/approvals?status=maybe", as: user)
        #expect(maybe.status == 400, "\(maybe.text)")

        let approve = try harness.call(
            "POST", "\(base)/auto-deploy/approvals/\(approved.uuidString.lowercased())/approve", as: user)
        #expect(approve.status == 200, "\(approve.text)")
        #expect((approve.json["deployment"] as? [String: Any])?["id"] as? String == "dpl_approved")
        #expect((approve.json["approval"] as? [String: Any])?["status"] as? String == "approved")
        // Two of them register the deployment's smoke check: its claim and its record.
        #expect(approve.statements <= 18, "an approval that deploys took \(approve.statements) round trips")
        let again = try harness.call(
            "POST", "\(base)/auto-deploy/approvals/\(approved.uuidString.lowercased())/approve", as: user)
        #expect(again.status == 409, "\(again.text)")

        let deny = try harness.call(
            "POST", "\(base)/auto-deploy/approvals/\(denied.uuidString.lowercased())/deny", as: user)
        #expect((deny.json["approval"] as? [String: Any])?["status"] as? String == "denied", "\(deny.text)")
        #expect(harness.vercel.sent.filter { $0 == "POST /v13/deployments" }.count == 1)
        #expect(
            try harness.call("POST", "\(base)/auto-deploy/approvals/\(UUID().uuidString)/deny", as: user).code
                == "APPROVAL_NOT_FOUND")
    }

    @Test func theEventsArePagedNewestFirst() throws {
        defer { harness.drop() }
        let store = AutoDeployStore(database: harness.db)
        for item in 0..<3 {
            var change = GitDelivery.Change(kind: "push")
            change.branch = "main"
            change.commitSha = String(repeating: "\(item)", count: 40)
            try store.record(
                .init(
                    provider: .github, deliveryID: "delivery-\(item)", item: 0, change: change, decision: .skipped,
                    reason: "test \(item)"),
                projectID: project, repository: "acme/site")
        }
        let first = try harness.call("GET", "\(base)/auto-deploy/events?limit=2", as: user)
        let events = try #require(first.json["events"] as? [[String: Any]], "\(first.text)")
        #expect(events.map { $0["deliveryId"] as? String } == ["delivery-2", "delivery-1"])
        let next = try #require((first.json["pagination"] as? [String: Any])?["next"] as? String)
        let second = try harness.call("GET", "\(base)/auto-deploy/events?limit=2&cursor=\(next)", as: user)
        #expect((second.json["events"] as? [[String: Any]])?.map { $0["deliveryId"] as? String } == ["delivery-0"])
        #expect(
            try harness.call("GET", "\(base)/auto-deploy/events?cursor=-1", as: user).code == "INVALID_CURSOR")
    }

    @Test func theRepositorysSecretIsAnsweredOnceAndItsSettingsCanBeRemoved() throws {
        defer { harness.drop() }
        let mismatch = try harness.call(
            "PUT", "\(base)/git", as: user, json: ["provider": "gitlab", "repository": "acme/site"])
        #expect(mismatch.code == "REPOSITORY_MISMATCH", "the Vercel project builds from GitHub: \(mismatch.text)")
        let put = try harness.call(
            "PUT", "\(base)/git", as: user, json: ["provider": "github", "repository": "acme/site"])
        #expect(put.status == 200, "\(put.text)")
        let secret = try #require(put.json["webhookSecret"] as? String, "\(put.text)")
        #expect(secret.count >= 32)
        let read = try harness.call("GET", "\(base)/git", as: user)
        let git = try #require(read.json["git"] as? [String: Any], "\(read.text)")
        #expect(git["configured"] as? Bool == true && git["provider"] as? String == "github")
        #expect(!read.text.contains(secret), "the secret is answered by the PUT alone")
        #expect(
            try harness.call("PUT", "\(base)/git", as: user, json: ["provider": "svn", "repository": "acme/site"])
                .status == 400)
        let deleted = try harness.call("DELETE", "\(base)/git", as: user)
        #expect(deleted.status == 200, "\(deleted.text)")
        #expect(
            (try harness.call("GET", "\(base)/git", as: user).json["git"] as? [String: Any])?["configured"] as? Bool
                == false)
    }
}
