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
/// page that names who asks, for what and where the browser goes next, and offers the accounts made
/// for a person (not every account a test made), whose buttons approve (or deny) as a browser would.
@Suite struct SimulatorConsentPageTests {
    /// The forms of a page: each button's label with the query its form sends.
    static func forms(_ html: String) -> [(label: String, query: String)] {
        html.components(separatedBy: "<form ").dropFirst().map { form in
            let inputs = form.components(separatedBy: "<input ").dropFirst().map { input -> String in
                func attribute(_ name: String) -> String {
                    let value = input.components(separatedBy: "\(name)=\"").dropFirst().first?.prefix { $0 != "\"" }
                    return String(value ?? "").replacingOccurrences(of: "&quot;", with: "\"")
                        .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
                        .replacingOccurrences(of: "&amp;", with: "&")
                }
                return QueryEncoding.encode(attribute("name")) + "=" + QueryEncoding.encode(attribute("value"))
            }
            let label = form.components(separatedBy: "<button type=\"submit\">").dropFirst().first?.prefix {
                $0 != "<"
            }
            return (String(label ?? ""), inputs.joined(separator: "&"))
        }
    }

    @Test func theConsentPageNamesTheAskerAndOffersPeopleWhoseApproveButtonCompletesTheFlow() async throws {
        let client = try StackClient()
        let fixtures = StackFixtures()
        let user = try fixtures.user()
        let person = try await SimulatorAccount.create(teams: ["pageteam"], person: true)
        let robot = try await SimulatorAccount.create()
        func username(_ account: SimulatorAccount) throws -> String {
            try VercelClient(
                configuration: .init(apiBaseURL: account.baseURL), transport: CurlTransport(), breakers: nil,
                logger: Logger(label: "t")
            ).user(.init(accessToken: account.token)).username
        }
        let name = try username(person)
        let initiated = try await client.signed(
            "POST", "/v1/internal/vercel/oauth/initiate", json: #"{"userId":"\#(user)"}"#)
        let url = try #require(initiated.json?["authorizationUrl"] as? String)
        let settings = try TestEnvironment.stackConfiguration()

        let page = try CurlTransport().send(HTTPRequest(method: "GET", url: url))
        #expect(page.status == 200 && page.header("content-type")?.hasPrefix("text/html") == true)
        let html = String(decoding: page.body, as: UTF8.self)
        let slug = try #require(settings["VERCEL_INTEGRATION_SLUG"])
        #expect(html.contains("Authorize the integration \u{201C}\(slug)\u{201D}"), "\(html)")
        #expect(html.contains("<code>read-write:deployment</code>") && html.contains("<code>read:user</code>"))
        let redirect = try #require(settings["VERCEL_OAUTH_REDIRECT_URI"])
        #expect(html.contains("<code class=\"redirect\">\(redirect)</code>"))
        let forms = Self.forms(html)
        #expect(forms.contains { $0.label == "Approve as \(name)" })
        #expect(forms.contains { $0.label == "Approve as \(name) for the team pageteam" })
        #expect(!html.contains(try username(robot)), "an account made by a test is not offered")
        let deny = try #require(forms.first { $0.label == "Deny" })
        #expect(deny.query.hasSuffix("&deny=1") && deny.query.contains("state="))

        // The button a person would press: the form's fields as the query of its action.
        let approve = try #require(forms.first { $0.label == "Approve as \(name)" })
        let path = try #require(URL(string: url)?.path)
        let origin = String(url[..<url.range(of: path)!.lowerBound])
        let approved = try CurlTransport().send(HTTPRequest(method: "GET", url: origin + path + "?" + approve.query))
        #expect(approved.status == 302)
        let callback = try #require(approved.header("location"))
        #expect(callback.contains("/v1/internal/vercel/oauth/callback?") && callback.contains("code="))
        let denied = try CurlTransport().send(HTTPRequest(method: "GET", url: origin + path + "?" + deny.query))
        #expect(denied.status == 302 && denied.header("location")?.contains("error=access_denied") == true)
    }
}
