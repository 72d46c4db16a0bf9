import Foundation
import Kernel
import Logging
import TestSupport
import Testing
import Vercel

/// Leaving cleanly: disconnecting an integration connection removes its integration configuration
/// at Vercel (its token stops working there), and the user's other connections stay.
@Suite struct DisconnectTests {
    let client: StackClient
    let fixtures = StackFixtures()

    init() throws {
        client = try StackClient()
    }

    @Test func disconnectingATeamConnectionEndsItsInstallationAndKeepsThePersonalOne() async throws {
        let user = try fixtures.user()
        let account = try await SimulatorAccount.create(teams: ["acme"])
        let personal = try await VercelConnectionFixture.connect(user, to: account, client)
        _ = try await VercelConnectionFixture.connect(user, to: account, team: "acme", client)

        let status = try await client.signed("GET", "/v1/internal/vercel/oauth/status?userId=\(user)")
        let connections = try #require(status.json?["connections"] as? [[String: Any]])
        #expect(connections.count == 2)
        let team = try #require(connections.first { $0["teamId"] as? String == account.teamIDs.first })
        let teamConnection = try #require(team["id"] as? String)

        // The tokens the simulator issued to this user: the personal install's, then the team's.
        let tokensData = try await account.admin("GET", "/_sim/tokens", nil)
        let tokens = try #require(try JSONSerialization.jsonObject(with: tokensData) as? [String])
        #expect(tokens.count == 2)
        let vercel = personal.vercel
        for token in tokens { #expect((try? vercel.user(.init(accessToken: token))) != nil) }

        let reply = try await client.signed(
            "POST", "/v1/internal/vercel/oauth/disconnect",
            json: #"{"userId":"\#(user)","connectionId":"\#(teamConnection)"}"#)
        #expect(reply.status == 200 && reply.json?["endedAtVercel"] as? Bool == true)
        #expect(try await account.requests()["DELETE /v1/integrations/configuration/:id"] == 1)
        // The team install's token no longer works at Vercel; the personal one does.
        #expect((try? vercel.user(.init(accessToken: tokens[1]))) == nil)
        #expect((try? vercel.user(.init(accessToken: tokens[0]))) != nil)

        let after = try await client.signed("GET", "/v1/internal/vercel/oauth/status?userId=\(user)")
        let left = try #require(after.json?["connections"] as? [[String: Any]])
        #expect(left.count == 1 && left.first?["teamId"] is NSNull && left.first?["status"] as? String == "connected")
        let projects = try await client.signed(
            "GET", "/v1/projects/\(try fixtures.project(owner: user))/vercel/projects?userId=\(user)")
        #expect(projects.status == 200)
    }
}

/// Which Vercel account: a user with a personal and a team connection names one, or is asked to.
@Suite struct ConnectionChoiceTests {
    let client: StackClient
    let fixtures = StackFixtures()

    init() throws {
        client = try StackClient()
    }

    @Test func aUserWithTwoConnectionsChoosesAndALinkKeepsItsConnection() async throws {
        let user = try fixtures.user()
        let account = try await SimulatorAccount.create(teams: ["acme"])
        let personal = try await VercelConnectionFixture.connect(user, to: account, client)
        _ = try await VercelConnectionFixture.connect(user, to: account, team: "acme", client)
        let team = try #require(account.teamIDs.first)
        let vercel = personal.vercel
        let teamProject = try vercel.createProject(
            .init(
                name: "team-site-\(UUID().uuidString.prefix(6).lowercased())",
                gitRepository: .init(type: "github", repo: "acme/site")),
            .init(accessToken: account.token, teamID: team))
        let personalProject = try vercel.createProject(
            .init(name: "own-site-\(UUID().uuidString.prefix(6).lowercased())"), .init(accessToken: account.token))
        let project = try fixtures.project(owner: user)
        let base = "/v1/projects/\(project)/vercel"

        let ambiguous = try await client.signed("GET", "\(base)/projects?userId=\(user)")
        #expect(ambiguous.status == 409 && ambiguous.code == "CONNECTION_AMBIGUOUS")
        let options = try #require(ambiguous.json?["connections"] as? [[String: Any]])
        #expect(Set(options.compactMap { $0["accountType"] as? String }) == ["personal", "team"])
        let teamConnection = try #require(options.first { $0["teamId"] as? String == team }?["id"] as? String)

        func names(_ reply: StackClient.Reply) -> Set<String> {
            Set((reply.json?["projects"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String })
        }
        let byTeam = try await client.signed("GET", "\(base)/projects?userId=\(user)&teamId=\(team)")
        #expect(
            byTeam.status == 200 && names(byTeam).contains(teamProject.name)
                && !names(byTeam).contains(personalProject.name))
        let byID = try await client.signed("GET", "\(base)/projects?userId=\(user)&connectionId=\(teamConnection)")
        #expect(names(byID) == names(byTeam))
        let personalConnection = try #require(
            options.first { $0["accountType"] as? String == "personal" }?["id"] as? String)
        let own = try await client.signed("GET", "\(base)/projects?userId=\(user)&connectionId=\(personalConnection)")
        #expect(names(own).contains(personalProject.name) && !names(own).contains(teamProject.name))

        let linked = try await client.signed(
            "POST", "\(base)/projects/link",
            json: #"{"userId":"\#(user)","teamId":"\#(team)","vercelProjectId":"\#(teamProject.id)"}"#)
        #expect(linked.status == 200, "\(linked.text)")
        let mapping = try fixtures.db.query(
            "SELECT vercel_connection_id::text AS connection FROM vercel_project_mappings WHERE project_id = \(project)"
        )
        #expect(mapping.first?["connection"] == teamConnection)
        // A linked project's routes use its connection without being told.
        let deployed = try await client.signed(
            "POST", "\(base)/deploy",
            json: #"{"userId":"\#(user)","deploymentType":"preview","gitSource":{"branch":"main"}}"#)
        #expect(deployed.status == 202, "\(deployed.text)")
    }
}

/// Honest scopes: an integration installation's permissions are unknown unless Vercel reports them.
@Suite struct HonestScopesTests {
    @Test func unknownScopesAreNullAndVercelsForbiddenIsInsufficientScope() async throws {
        let client = try StackClient()
        let fixtures = StackFixtures()
        // A configuration answered as before Vercel required `scopes`.
        let account = try await SimulatorAccount.create()
        _ = try await account.admin("PUT", "/_sim/shapes", ["variants": ["configurationWithoutScopes"]])
        let connected = try await VercelConnectionFixture.connect(try fixtures.user(), to: account, client)
        let status = try await client.signed("GET", "/v1/internal/vercel/oauth/status?userId=\(connected.user)")
        let connection = try #require(status.json?["connection"] as? [String: Any])
        #expect(connection["scopes"] is NSNull)
        try await connected.account.setFaults(["forbidden": 1])
        let project = try fixtures.project(owner: connected.user)
        let reply = try await client.signed("GET", "/v1/projects/\(project)/vercel/projects?userId=\(connected.user)")
        #expect(reply.status == 403 && reply.code == "INSUFFICIENT_SCOPE")
        #expect(
            reply.json?["requiredScope"] as? String == "read:project" && reply.json?["action"] as? String == "RECONNECT"
        )
        let again = try await client.signed("GET", "/v1/projects/\(project)/vercel/projects?userId=\(connected.user)")
        #expect(again.status == 200)
    }
}

/// The simulator for a person: an authorization URL followed without `login_hint` shows a consent
/// page listing the simulated accounts, whose links approve (or deny) as a browser would.
@Suite struct SimulatorConsentPageTests {
    @Test func theConsentPageListsAccountsAndItsApproveLinkCompletesTheFlow() async throws {
        let client = try StackClient()
        let fixtures = StackFixtures()
        let user = try fixtures.user()
        let account = try await SimulatorAccount.create(teams: ["pageteam"])
        let username = try VercelClient(
            configuration: .init(apiBaseURL: account.baseURL), transport: CurlTransport(), breakers: nil,
            logger: Logger(label: "t")
        ).user(.init(accessToken: account.token)).username
        let initiated = try await client.signed(
            "POST", "/v1/internal/vercel/oauth/initiate", json: #"{"userId":"\#(user)"}"#)
        let url = try #require(initiated.json?["authorizationUrl"] as? String)

        let page = try CurlTransport().send(HTTPRequest(method: "GET", url: url))
        #expect(page.status == 200 && page.header("content-type")?.hasPrefix("text/html") == true)
        let html = String(decoding: page.body, as: UTF8.self)
        #expect(
            html.contains("Approve as \(username)<") && html.contains("for the team pageteam")
                && html.contains("deny=1"))

        // The link a person would click, unescaped as a browser does.
        let marker = "login_hint=\(username)"
        let link = try #require(
            html.components(separatedBy: "href=\"").map { $0.prefix { $0 != "\"" } }.first { $0.hasSuffix(marker) })
        let origin =
            String(url.prefix { $0 != "/" }) + "//"
            + url.dropFirst(url.prefix { $0 != "/" }.count + 2).prefix { $0 != "/" }
        let approved = try CurlTransport().send(
            HTTPRequest(method: "GET", url: origin + link.replacingOccurrences(of: "&amp;", with: "&")))
        #expect(approved.status == 302)
        let callback = try #require(approved.header("location"))
        #expect(callback.contains("/v1/internal/vercel/oauth/callback?") && callback.contains("code="))
    }
}
