import Foundation
import TestSupport
import Testing
import Vercel

/// Deploying through nginx against the simulator: from git and from disk, idempotency keys, the
/// production guardrail and its override tokens.
@Suite struct DeployTests {
    let client: StackClient
    let fixtures = StackFixtures()
    let projectsRoot: URL

    init() throws {
        client = try StackClient()
        projectsRoot = URL(
            fileURLWithPath: try #require(try TestEnvironment.stackConfiguration()["SHEEN_PROJECTS_ROOT"]))
    }

    @Test func aGitDeployIsStoredBeforeTheAnswerAndReachesReadyThroughTheSimulatorsWebhooks() async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client)
        let reply = try await linked.deploy([
            "deploymentType": "preview",
            "gitSource": ["branch": "feature/cart", "commitSha": "0123abcd", "prNumber": 42],
        ])
        #expect(reply.status == 202, "\(reply.text)")
        let deployment = try #require(reply.json?["deployment"] as? [String: Any])
        let id = try #require(deployment["id"] as? String)
        #expect(deployment["type"] as? String == "preview")
        #expect(
            (deployment["url"] as? String)?.hasPrefix("https://") == true
                && reply.json?["deploymentUrl"] as? String == deployment["url"] as? String)
        let source = try #require(deployment["gitSource"] as? [String: Any])
        #expect(
            source["branch"] as? String == "feature/cart" && source["commitSha"] as? String == "0123abcd"
                && source["prNumber"] as? Int == 42)
        #expect(source["repository"] as? String == "acme/storefront")
        // The row exists as soon as the answer does: the webhooks find it rather than make it.
        #expect(try linked.storedState(id) != nil)
        #expect(try await linked.waitForStoredState(id, "READY") == "READY")
        let delivered = try fixtures.db.query(
            "SELECT count(*) AS n FROM vercel_webhook_dedup WHERE deployment_id = \(id) AND event_type = 'deployment.succeeded'"
        )[0]["n"]
        #expect(delivered == "1")
        let row = try #require(
            try fixtures.db.query(
                "SELECT created_by, git_source->>'branch' AS branch, build_duration_ms FROM vercel_deployments WHERE deployment_id = \(id)"
            ).first)
        #expect(row["created_by"] == linked.user.uuidString.lowercased() && row["branch"] == "feature/cart")
        #expect(row["build_duration_ms"] == "300")
        let vercel = try linked.connected.vercel.deployment(id, linked.connected.credentials)
        #expect(vercel.projectId == linked.vercelProject.id && vercel.target == nil)
    }

    @Test func aDeployFromDiskUploadsTheProjectsFilesAndLeavesOutLinksDependenciesAndLocalSecrets() async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client)
        let root = projectsRoot.appendingPathComponent(linked.project.uuidString.lowercased())
        for index in 0..<1_200 {
            let folder = root.appendingPathComponent("src/module\(index % 30)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try Data("export const value\(index) = \(index);\n".utf8).write(
                to: folder.appendingPathComponent("file\(index).js"))
        }
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("node_modules/left-pad"), withIntermediateDirectories: true)
        try Data("module.exports = 1".utf8).write(to: root.appendingPathComponent("node_modules/left-pad/index.js"))
        try Data("SECRET=do-not-ship".utf8).write(to: root.appendingPathComponent(".env.local"))
        try FileManager.default.createSymbolicLink(
            atPath: root.appendingPathComponent("passwd").path, withDestinationPath: "/etc/passwd")

        let before = try await linked.connected.account.requests()["POST /v2/files"] ?? 0
        let reply = try await linked.deploy(["deploymentType": "preview"])
        #expect(reply.status == 202, "\(reply.text)")
        let upload = try #require(reply.json?["upload"] as? [String: Any])
        #expect(upload["filesUploaded"] as? Int == 1_200)
        #expect(try await linked.connected.account.requests()["POST /v2/files"] == before + 1_200)
        let id = try #require((reply.json?["deployment"] as? [String: Any])?["id"] as? String)
        #expect((reply.json?["deployment"] as? [String: Any])?["gitSource"] is NSNull)
        #expect(try await linked.waitForStoredState(id, "READY") == "READY")

        // The same tree again: Vercel has every file, so nothing is sent.
        let again = try await linked.deploy(["deploymentType": "preview"])
        #expect(again.status == 202 && (again.json?["upload"] as? [String: Any])?["filesUploaded"] as? Int == 0)
    }

    @Test func tenConcurrentDeploysWithOneIdempotencyKeyMakeOneDeployment() async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client)
        let before = try await linked.connected.account.requests()["POST /v13/deployments"] ?? 0
        let key = "deploy-\(UUID().uuidString)"
        let path = "\(linked.base)/deploy"
        let body =
            #"{"userId":"\#(linked.user)","deploymentType":"preview","gitSource":{"branch":"main"},"idempotencyKey":"\#(key)"}"#
        let client = self.client
        let replies = try await withThrowingTaskGroup(of: StackClient.Reply.self) { group in
            for _ in 0..<10 {
                group.addTask { try await client.signed("POST", path, json: body) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(replies.allSatisfy { $0.status == 202 }, "\(replies.map(\.status))")
        let ids = Set(replies.compactMap { ($0.json?["deployment"] as? [String: Any])?["id"] as? String })
        #expect(ids.count == 1)
        #expect(replies.filter { $0.json?["idempotentReplay"] as? Bool == false }.count == 1)
        #expect(try await linked.connected.account.requests()["POST /v13/deployments"] == before + 1)
        #expect(
            try fixtures.db.query("SELECT count(*) AS n FROM vercel_deployments WHERE project_id = \(linked.project)")[
                0]["n"] == "1")

        let changed = try await linked.deploy([
            "deploymentType": "production", "gitSource": ["branch": "main"], "idempotencyKey": key,
        ])
        #expect(changed.status == 422 && changed.code == "IDEMPOTENCY_KEY_REUSED")
    }

    @Test func productionFromAnotherBranchIsBlockedUntilAnOverrideTokenWithinItsExpiryAndUsesAllowsIt() async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client)
        let feature: [String: Any] = ["deploymentType": "production", "gitSource": ["branch": "feature/risky"]]
        let blocked = try await linked.deploy(feature)
        #expect(blocked.status == 403 && blocked.code == "DEPLOYMENT_BLOCKED")
        #expect(blocked.json?["canOverride"] as? Bool == true)
        #expect((blocked.json?["warnings"] as? [String])?.first?.contains("'main'") == true)

        // The production branch itself needs no override.
        let main = try await linked.deploy(["deploymentType": "production", "gitSource": ["branch": "main"]])
        #expect(main.status == 202 && (main.json?["deployment"] as? [String: Any])?["type"] as? String == "production")

        let issued = try await client.signed(
            "POST", "\(linked.base)/deployment-override",
            json: #"{"userId":"\#(linked.user)","reason":"hotfix for checkout","maxUses":2}"#)
        #expect(issued.status == 201)
        let token = try #require(issued.json?["overrideToken"] as? String)
        #expect(
            try fixtures.db.query("SELECT count(*) AS n FROM vercel_override_tokens WHERE token_hash = \(token)")[0][
                "n"] == "0")
        var withToken = feature
        withToken["overrideToken"] = token
        for _ in 0..<2 {
            let allowed = try await linked.deploy(withToken)
            #expect(allowed.status == 202, "\(allowed.text)")
        }
        let usedUp = try await linked.deploy(withToken)
        #expect(
            usedUp.status == 403 && usedUp.code == "DEPLOYMENT_BLOCKED"
                && usedUp.json?["overrideRejected"] as? Bool == true)

        let expiring = try await client.signed(
            "POST", "\(linked.base)/deployment-override",
            json: #"{"userId":"\#(linked.user)","reason":"short-lived","expiresInMinutes":1}"#)
        let expiringToken = try #require(expiring.json?["overrideToken"] as? String)
        try fixtures.db.execute(
            """
            UPDATE vercel_override_tokens SET created_at = now() - interval '2 hours', expires_at = now() - interval '1 hour'
            WHERE id = \(try #require(expiring.json?["overrideId"] as? String))::uuid
            """)
        withToken["overrideToken"] = expiringToken
        let expired = try await linked.deploy(withToken)
        #expect(expired.status == 403 && expired.json?["overrideRejected"] as? Bool == true)

        // A token of another project does not unlock this one.
        let other = try await LinkedProjectFixture.make(fixtures, client)
        let foreign = try await client.signed(
            "POST", "\(other.base)/deployment-override", json: #"{"userId":"\#(other.user)","reason":"other project"}"#)
        withToken["overrideToken"] = try #require(foreign.json?["overrideToken"] as? String)
        #expect(try await linked.deploy(withToken).status == 403)

        #expect(
            try linked.auditActions() == [
                "VERCEL_PROJECT_LINKED", "DEPLOYMENT_BLOCKED", "DEPLOYMENT_OVERRIDE_ISSUED", "DEPLOYMENT_OVERRIDE_USED",
                "DEPLOYMENT_OVERRIDE_USED",
                "DEPLOYMENT_OVERRIDE_REJECTED", "DEPLOYMENT_OVERRIDE_ISSUED", "DEPLOYMENT_OVERRIDE_REJECTED",
                "DEPLOYMENT_OVERRIDE_REJECTED",
            ])
        let logs = try StackFixtures.logs()
        #expect(!logs.contains(token) && !logs.contains(expiringToken))
    }

    @Test func badDeployRequestsAreRefusedWithClearCodes() async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client)
        let cases: [([String: Any], String)] = [
            (["deploymentType": "staging"], "INVALID_DEPLOYMENT_TYPE"),
            (["deploymentType": "preview", "gitSource": ["branch": "bad..branch"]], "INVALID_GIT_SOURCE"),
            (
                ["deploymentType": "preview", "gitSource": ["branch": "main", "commitSha": "XYZ"]], "INVALID_GIT_SOURCE"
            ),
            (
                ["deploymentType": "preview", "idempotencyKey": String(repeating: "k", count: 256)],
                "INVALID_IDEMPOTENCY_KEY"
            ),
        ]
        for (body, code) in cases {
            let reply = try await linked.deploy(body)
            #expect(reply.status == 400 && reply.code == code, "\(body)")
        }
        let unlinked = try fixtures.project(owner: linked.user)
        let notLinked = try await client.signed(
            "POST", "/v1/projects/\(unlinked)/vercel/deploy",
            json: #"{"userId":"\#(linked.user)","deploymentType":"preview"}"#)
        #expect(notLinked.status == 404 && notLinked.code == "PROJECT_NOT_LINKED")
    }
}
