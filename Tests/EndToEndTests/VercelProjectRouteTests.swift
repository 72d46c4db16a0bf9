import Foundation
import TestSupport
import Testing
import Vercel

/// `GET …/vercel/projects` and `GET …/vercel/projects/:vercelProjectId` through nginx, with the
/// user's connection to the simulator.
@Suite struct VercelProjectRouteTests {
    let client: StackClient
    let fixtures = StackFixtures()

    init() throws {
        client = try StackClient()
    }

    @Test func theUsersVercelProjectsArePagedWithVercelsCursorEachExactlyOnce() async throws {
        let connected = try await VercelConnectionFixture.connect(fixtures, client)
        let project = try fixtures.project(owner: connected.user)
        var created: Set<String> = []
        for index in 0..<7 {
            created.insert(
                try connected.vercel.createProject(
                    VercelProjectSettings(name: "listed-\(index)", framework: "nextjs"), connected.credentials
                ).id)
        }
        var seen: [String] = []
        var cursor: String? = nil
        for _ in 0..<10 {
            let target =
                "/v1/projects/\(project)/vercel/projects?userId=\(connected.user)&limit=3"
                + (cursor.map { "&cursor=\($0)" } ?? "")
            let reply = try await client.signed("GET", target)
            #expect(reply.status == 200, "\(reply.text)")
            let projects = try #require(reply.json?["projects"] as? [[String: Any]])
            seen += projects.compactMap { $0["id"] as? String }
            #expect(projects.allSatisfy { $0["framework"] as? String == "nextjs" })
            let pagination = try #require(reply.json?["pagination"] as? [String: Any])
            guard let next = pagination["next"] as? Int64 ?? (pagination["next"] as? Int).map(Int64.init) else { break }
            cursor = "\(next)"
        }
        #expect(seen.count == 7 && Set(seen) == created)

        let one = try #require(created.first)
        let detail = try await client.signed(
            "GET", "/v1/projects/\(project)/vercel/projects/\(one)?userId=\(connected.user)")
        #expect((detail.json?["project"] as? [String: Any])?["id"] as? String == one)
        #expect(detail.text.contains(#""mapping":null"#))
        let missing = try await client.signed(
            "GET", "/v1/projects/\(project)/vercel/projects/prj_nope?userId=\(connected.user)")
        #expect(
            missing.status == 404 && missing.code == "VERCEL_NOT_FOUND"
                && missing.json?["vercelCode"] as? String == "not_found")
    }

    @Test func withoutAConnectionOrWithoutTheScopeTheUserIsToldToReconnect() async throws {
        let user = try fixtures.user()
        let project = try fixtures.project(owner: user)
        let unconnected = try await client.signed("GET", "/v1/projects/\(project)/vercel/projects?userId=\(user)")
        #expect(
            unconnected.status == 401 && unconnected.code == "AUTH_REQUIRED"
                && unconnected.json?["action"] as? String == "RECONNECT")

        let connected = try await VercelConnectionFixture.connect(fixtures, client)
        let own = try fixtures.project(owner: connected.user)
        try fixtures.db.execute(
            "UPDATE vercel_connections SET granted_scopes = '{read:user}' WHERE user_id = \(connected.user)")
        let narrow = try await client.signed("GET", "/v1/projects/\(own)/vercel/projects?userId=\(connected.user)")
        #expect(
            narrow.status == 403 && narrow.code == "INSUFFICIENT_SCOPE"
                && narrow.json?["requiredScope"] as? String == "read:project")

        let invalid = try await client.signed(
            "GET", "/v1/projects/\(own)/vercel/projects?userId=\(connected.user)&limit=500")
        #expect(invalid.status == 400 && invalid.code == "INVALID_LIMIT")
    }
}
