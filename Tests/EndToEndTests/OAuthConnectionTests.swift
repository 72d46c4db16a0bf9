import Crypto
import Foundation
import Platform
import Testing
import TestSupport
import Vercel

/// Connecting a Vercel account through nginx: initiate, Vercel's consent (the simulator's),
/// the callback, and what is stored; with the integration install flow the stack is set up for.
@Suite(.serialized) struct OAuthConnectionTests {
    let client: StackClient
    let fixtures = StackFixtures()
    let browser = CurlTransport()
    let settings: [String: String]

    init() throws {
        client = try StackClient()
        settings = try TestEnvironment.stackConfiguration()
    }

    /// A simulator account and its username.
    func vercelAccount(teams: [String] = []) async throws -> (SimulatorAccount, String) {
        let account = try await SimulatorAccount.create(teams: teams)
        let user = try VercelClient(configuration: .init(apiBaseURL: account.baseURL), transport: CurlTransport(), breakers: nil, logger: .init(label: "t"))
            .user(VercelClient.Credentials(accessToken: account.token))
        return (account, user.username)
    }

    func initiate(_ user: UUID, _ extra: String = "") async throws -> (url: String, state: String) {
        let reply = try await client.signed("POST", "/v1/internal/vercel/oauth/initiate", json: #"{"userId":"\#(user)"\#(extra)}"#)
        #expect(reply.status == 200, "\(reply.text)")
        return (try #require(reply.json?["authorizationUrl"] as? String), try #require(reply.json?["state"] as? String))
    }

    /// Follows a redirect chain from `url` as a browser would, stopping at the platform's pages.
    func follow(_ url: String) throws -> String {
        var location = url
        for _ in 0..<5 {
            if location.hasPrefix(settings["SHEEN_OAUTH_SUCCESS_URL"]!) || location.hasPrefix(settings["SHEEN_OAUTH_FAILURE_URL"]!) { return location }
            let response = try browser.send(HTTPRequest(method: "GET", url: location))
            guard response.status == 302, let next = response.header("location") else {
                Issue.record("expected a redirect from \(location), got \(response.status)")
                return location
            }
            location = next
        }
        return location
    }

    func connections(of user: UUID) throws -> Int {
        try fixtures.db.query("SELECT count(*) AS n FROM vercel_connections WHERE user_id = \(user) AND status = 'connected'")[0].decode("n")
    }

    @Test func theWholeFlowConnectsPersonalAndTeamAccountsSideBySide() async throws {
        let user = try fixtures.user()
        let (_, username) = try await vercelAccount(teams: ["acme"])
        let personal = try follow(try await initiate(user).url + "&login_hint=\(username)")
        #expect(personal.hasPrefix(settings["SHEEN_OAUTH_SUCCESS_URL"]! + "?status=connected&connectionId="))
        let team = try follow(try await initiate(user).url + "&login_hint=\(username)&team=acme")
        #expect(team.contains("status=connected"))

        let status = try await client.signed("GET", "/v1/internal/vercel/oauth/status?userId=\(user)")
        #expect(status.json?["connected"] as? Bool == true)
        let all = try #require(status.json?["connections"] as? [[String: Any]])
        #expect(all.count == 2)
        #expect(Set(all.compactMap { $0["accountType"] as? String }) == ["personal", "team"])
        #expect(all.first { $0["accountType"] as? String == "team" }?["teamName"] as? String == "acme")
        #expect(all.allSatisfy { ($0["scopes"] as? [String])?.contains("project:write") == true })

        // Connecting the same account again updates the connection instead of adding one.
        _ = try follow(try await initiate(user).url + "&login_hint=\(username)")
        #expect(try connections(of: user) == 2)
    }

    @Test func aReplayedExpiredOrDeniedStateStoresNothing() async throws {
        let user = try fixtures.user()
        let (_, username) = try await vercelAccount()

        let (url, _) = try await initiate(user)
        let consent = try browser.send(HTTPRequest(method: "GET", url: url + "&login_hint=\(username)"))
        let callback = try #require(consent.header("location"))
        #expect(try follow(callback).contains("status=connected"))
        #expect(try follow(callback) == settings["SHEEN_OAUTH_FAILURE_URL"]! + "?error=STATE_INVALID")
        #expect(try connections(of: user) == 1)

        let other = try fixtures.user()
        let (expiring, state) = try await initiate(other)
        try fixtures.db.execute(
            "UPDATE vercel_oauth_states SET created_at = now() - interval '20 minutes', expires_at = now() - interval '10 minutes' WHERE state_hash = \(Crypto.Digest.sha256Hex(state))")
        #expect(try follow(expiring + "&login_hint=\(username)") == settings["SHEEN_OAUTH_FAILURE_URL"]! + "?error=STATE_INVALID")

        #expect(try follow(try await initiate(other).url + "&login_hint=\(username)&deny=1") == settings["SHEEN_OAUTH_FAILURE_URL"]! + "?error=ACCESS_DENIED")
        #expect(try follow(settings["VERCEL_OAUTH_REDIRECT_URI"]! + "?code=x&state=" + String(repeating: "a", count: 43)).hasSuffix("error=STATE_INVALID"))
        #expect(try connections(of: other) == 0)
    }

    /// The stack runs the integration flow; a state switched to the OAuth app's mode takes the
    /// app's callback path: PKCE exchange with the sealed verifier, expiring tokens, a refresh token.
    @Test func theOAuthAppCallbackExchangesTheCodeWithTheSealedVerifier() async throws {
        let user = try fixtures.user()
        let (_, username) = try await vercelAccount()
        let (_, state) = try await initiate(user)
        let hash = Digest.sha256Hex(state)
        try fixtures.db.execute("UPDATE vercel_oauth_states SET auth_mode = 'oauth_app' WHERE state_hash = \(hash)")
        let sealed = try #require(try fixtures.db.query("SELECT code_verifier_sealed FROM vercel_oauth_states WHERE state_hash = \(hash)")[0]["code_verifier_sealed"])
        let keys = try KeyRing(parsing: settings["TOKEN_ENCRYPTION_KEYS"]!)
        let verifier = try keys.open(sealed, context: SealContext(table: "vercel_oauth_states", column: "code_verifier_sealed", rowID: hash))
        let authorize = settings["VERCEL_OAUTH_AUTHORIZE_URL"]! + "?client_id=\(settings["VERCEL_OAUTH_CLIENT_ID"]!)&response_type=code"
            + "&redirect_uri=\(QueryEncoding.encode(settings["VERCEL_OAUTH_REDIRECT_URI"]!))&state=\(state)&login_hint=\(username)"
            + "&code_challenge=\(Base64URL.encode(Digest.sha256(Array(verifier.utf8))))&code_challenge_method=S256"
        #expect(try follow(authorize).contains("status=connected"))
        let row = try fixtures.db.query(
            "SELECT auth_mode, refresh_token_sealed IS NOT NULL AS refreshable, token_expires_at > now() + interval '50 minutes' AS expires FROM vercel_connections WHERE user_id = \(user)")
        #expect(row.first?["auth_mode"] == "oauth_app" && row.first?["refreshable"] == "t" && row.first?["expires"] == "t")

        // A code exchanged with another verifier than the state's is refused and stores nothing.
        let other = try fixtures.user()
        let (_, otherState) = try await initiate(other)
        try fixtures.db.execute("UPDATE vercel_oauth_states SET auth_mode = 'oauth_app' WHERE state_hash = \(Digest.sha256Hex(otherState))")
        let forged = settings["VERCEL_OAUTH_AUTHORIZE_URL"]! + "?client_id=\(settings["VERCEL_OAUTH_CLIENT_ID"]!)&response_type=code"
            + "&redirect_uri=\(QueryEncoding.encode(settings["VERCEL_OAUTH_REDIRECT_URI"]!))&state=\(otherState)&login_hint=\(username)"
            + "&code_challenge=\(Base64URL.encode(Digest.sha256(Array("attacker-chosen-verifier-0123456789abcdefghij".utf8))))&code_challenge_method=S256"
        #expect(try follow(forged) == settings["SHEEN_OAUTH_FAILURE_URL"]! + "?error=TOKEN_EXCHANGE_FAILED")
        #expect(try connections(of: other) == 0)
    }

    @Test func initiateRefusesForeignRedirectsAndOtherUsersProjects() async throws {
        let user = try fixtures.user()
        let stranger = try fixtures.project(owner: try fixtures.user())
        let redirect = try await client.signed(
            "POST", "/v1/internal/vercel/oauth/initiate", json: #"{"userId":"\#(user)","redirectUri":"https://evil.example.com/x"}"#)
        #expect(redirect.status == 400 && redirect.code == "INVALID_REDIRECT_URI")
        let project = try await client.signed("POST", "/v1/internal/vercel/oauth/initiate", json: #"{"userId":"\#(user)","projectId":"\#(stranger)"}"#)
        #expect(project.status == 404 && project.code == "PROJECT_NOT_FOUND")
    }

    @Test func noIssuedTokenIsStoredInPlaintextOrLoggedAndDisconnectRevokesThem() async throws {
        let user = try fixtures.user()
        let (account, username) = try await vercelAccount()
        _ = try follow(try await initiate(user).url + "&login_hint=\(username)")
        let issued = try JSONDecoder().decode([String].self, from: try await account.admin("GET", "/_sim/tokens", nil))
        #expect(!issued.isEmpty)

        // The whole database, as pg_dump writes it.
        let pgDump = Process()
        pgDump.executableURL = URL(fileURLWithPath: "/usr/bin/pg_dump")
        pgDump.arguments = ["--data-only", "--dbname=\(try TestEnvironment.require("TEST_DATABASE_URL"))"]
        let output = Pipe()
        pgDump.standardOutput = output
        try pgDump.run()
        let dump = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        pgDump.waitUntilExit()
        #expect(pgDump.terminationStatus == 0 && dump.contains("vercel_connections"))
        try await Task.sleep(for: .milliseconds(200))
        let logs = try StackFixtures.logs()
        for token in issued {
            #expect(!dump.contains(token), "a token is stored in plaintext")
            #expect(!logs.contains(token), "a token reached a log")
        }

        let reply = try await client.signed("POST", "/v1/internal/vercel/oauth/disconnect", json: #"{"userId":"\#(user)"}"#)
        #expect(reply.status == 200 && reply.json?["disconnected"] as? Bool == true)
        let status = try await client.signed("GET", "/v1/internal/vercel/oauth/status?userId=\(user)")
        #expect(status.json?["connected"] as? Bool == false)
        let wiped = try fixtures.db.query("SELECT access_token_sealed, status::text AS status FROM vercel_connections WHERE user_id = \(user)")
        #expect(wiped.first?["access_token_sealed"] == nil && wiped.first?["status"] == "disconnected")
        let vercel = VercelClient(configuration: .init(apiBaseURL: account.baseURL), transport: CurlTransport(), breakers: nil, logger: .init(label: "t"))
        for token in issued {
            #expect(throws: VercelError.unauthorized(status: 403, message: "Not authorized")) {
                try vercel.user(VercelClient.Credentials(accessToken: token))
            }
        }
        let again = try await client.signed("POST", "/v1/internal/vercel/oauth/disconnect", json: #"{"userId":"\#(user)"}"#)
        #expect(again.status == 404 && again.code == "CONNECTION_NOT_FOUND")
    }
}
