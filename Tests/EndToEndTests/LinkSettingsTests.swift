import Foundation
import TestSupport
import Testing
import Vercel

/// Settings after linking (PATCH …/projects/link), and the guardrail following Vercel's current
/// production branch.
@Suite struct LinkSettingsTests {
    let client: StackClient
    let fixtures = StackFixtures()

    init() throws {
        client = try StackClient()
    }

    func patch(_ linked: LinkedProjectFixture, _ fields: [String: Any]) async throws -> StackClient.Reply {
        var body = fields
        body["userId"] = linked.user.uuidString
        let json = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
        return try await client.signed("PATCH", "\(linked.base)/projects/link", json: json)
    }

    @Test func buildSettingsAreWrittenToVercelAndTheLinkKeepsItsOwn() async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client, webhooks: false)
        let reply = try await patch(
            linked,
            [
                "buildCommand": "npm run build:prod", "nodeVersion": "20.x", "deploymentBranchPatterns": ["feature/*"],
                "autoDeployEnabled": false, "environmentTargets": ["production"],
            ])
        #expect(reply.status == 200, "\(reply.text)")
        let mapping = try #require(reply.json?["mapping"] as? [String: Any])
        #expect(
            mapping["buildCommand"] as? String == "npm run build:prod" && mapping["nodeVersion"] as? String == "20.x")
        #expect(
            mapping["deploymentBranchPatterns"] as? [String] == ["feature/*"]
                && mapping["autoDeployEnabled"] as? Bool == false)
        let atVercel = try linked.connected.vercel.project(linked.vercelProject.id, linked.connected.credentials)
        #expect(atVercel.buildCommand == "npm run build:prod" && atVercel.nodeVersion == "20.x")

        #expect(try await patch(linked, ["nodeVersion": "12.x"]).code == "INVALID_BUILD_SETTING")
        #expect(try await patch(linked, ["rootDirectory": "../elsewhere"]).code == "INVALID_BUILD_SETTING")
        let branch = try await patch(linked, ["productionBranch": "develop"])
        #expect(branch.status == 409 && branch.code == "PRODUCTION_BRANCH_IS_VERCELS")
        #expect(try await patch(linked, ["productionBranch": "main"]).status == 200)
    }

    @Test func aProductionBranchRenamedInVercelIsFollowedWithoutAnUnlink() async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client, webhooks: false)
        let release = ["deploymentType": "production", "gitSource": ["branch": "release"]] as [String: Any]
        #expect(try await linked.deploy(release).code == "DEPLOYMENT_BLOCKED")
        _ = try await linked.connected.account.admin(
            "PUT", "/_sim/projects/\(linked.vercelProject.id)/production-branch", ["branch": "release"])
        // The branch read from Vercel is trusted for a second in the test stack (a minute by default).
        try await Task.sleep(for: .milliseconds(1100))
        let deployed = try await linked.deploy(release)
        #expect(deployed.status == 202, "\(deployed.text)")
        let fromMain = try await linked.deploy(["deploymentType": "production", "gitSource": ["branch": "main"]])
        #expect(fromMain.code == "DEPLOYMENT_BLOCKED")
    }
}
