import DeploymentsGroup
import Foundation
import Platform
import PlatformHost
import Testing

/// The smoke-check settings of the `deployments` group, called in process: the default, a
/// replacement, a refusal, and an unlinked project.
@Suite(.serialized) struct SmokeCheckRouteTests {
    let harness: GroupHarness
    let user: UUID
    let project: UUID

    init() throws {
        harness = try GroupHarness(DeploymentsGroup.group)
        user = try harness.user()
        project = try harness.project(of: user)
    }

    var base: String { "/v1/projects/\(project.uuidString.lowercased())/vercel" }

    @Test func checksAreTheDefaultUntilSetAndRefusedWhenTheyCouldLeaveTheHost() throws {
        defer { harness.drop() }
        #expect(try harness.call("GET", "\(base)/checks", as: user).code == "PROJECT_NOT_LINKED")
        try harness.link(project, connection: try harness.connect(user))
        let fresh = try harness.call("GET", "\(base)/checks", as: user)
        #expect(fresh.status == 200 && fresh.json["custom"] as? Bool == false, "\(fresh.text)")

        let set = try harness.call(
            "PUT", "\(base)/checks", as: user, json: ["checks": [["path": "/pricing", "expectStatus": 200]]])
        #expect(set.status == 200 && set.json["custom"] as? Bool == true, "\(set.text)")
        let stored = try #require(
            try harness.call("GET", "\(base)/checks", as: user).json["checks"] as? [[String: Any]])
        #expect(stored.first?["path"] as? String == "/pricing" && stored.first?["latencyBudgetMs"] as? Int == 5000)

        let refused = try harness.call(
            "PUT", "\(base)/checks", as: user, json: ["checks": [["path": "//evil.example"]]])
        #expect(refused.status == 400 && refused.code == "INVALID_SMOKE_CHECK", "\(refused.text)")
    }
}
