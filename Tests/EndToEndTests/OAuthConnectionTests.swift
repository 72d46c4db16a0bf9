import Crypto
import Foundation
import Kernel
import Platform
import TestSupport
import Testing
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
        let user = try VercelClient(
            configuration: .init(apiBaseURL: account.baseURL), transport: CurlTransport(), breakers: nil,
            logger: .init(label: "t")
        )
        .user(VercelClient.Credentials(accessToken: account.token))
        return (account, user.username)
    }

    func initiate(_ user: UUID, _ extra: String = "") async throws -> (url: String, state: String) {
        let reply = try await client.signed(
            "POST", "/v1/internal/vercel/oauth/initiate", json: #"{"userId":"\#(user)"\#(extra)}"#)
        #expect(reply.status == 200, "\(reply.text)")
        return (try #require(reply.json?["authorizationUrl"] as? String), try #require(reply.json?["state"] as? String))
    }

    /// Follows a redirect chain from `url` as a browser would, stopping at the platform's pages.
    func follow(_ url: String) throws -> String {
        var location = url
        for _ in 0..<5 {
            if location.hasPrefix(settings["SHEEN_OAUTH_SUCCESS_URL"]!)
                || location.hasPrefix(settings["SHEEN_OAUTH_FAILURE_URL"]!)
            {
                return location
            }
            let response = try browser.send(HTTPRequest(method: "GET", url: location))
            guard response.status == 302, let next = response.header("location") else {
                Issue.record("expected a redirect from \(location), got \(response.status)")
                return location
            }
            location = next
        }
        return location
    }

    /// Follows `url` to the success page and confirms it for `user`, as the platform's page does.
    func connect(_ url: String, as user: UUID) async throws -> StackClient.Reply {
        let landed = try follow(url)
        #expect(landed.hasPrefix(settings["SHEEN_OAUTH_SUCCESS_URL"]! + "?status=confirm#confirmation="), "\(landed)")
        return try await client.confirm(landed, as: user)
    }

    func connections(of user: UUID) throws -> Int {
        try fixtures.db.query(
            "SELECT count(*) AS n FROM vercel_connections WHERE user_id = \(user) AND status = 'connected'")[0].decode(
                "n")
    }

    @Test func theWholeFlowConnectsPersonalAndTeamAccountsSideBySide() async throws {
        let user = try fixtures.user()
        let (_, username) = try await vercelAccount(teams: ["acme"])
        let personal = try await connect(try await initiate(user).url + "&login_hint=\(username)", as: user)
        #expect(
            personal.status == 200 && personal.json?["connected"] as? Bool == true
                && personal.json?["accountType"] as? String == "personal")
        let team = try await connect(try await initiate(user).url + "&login_hint=\(username)&team=acme", as: user)
        #expect(team.json?["accountType"] as? String == "team" && team.json?["teamName"] as? String == "acme")

        let status = try await client.signed("GET", "/v1/internal/vercel/oauth/status?userId=\(user)")
        #expect(status.json?["connected"] as? Bool == true)
        let all = try #require(status.json?["connections"] as? [[String: Any]])
        #expect(all.count == 2)
        #expect(Set(all.compactMap { $0["accountType"] as? String }) == ["personal", "team"])
        #expect(all.first { $0["accountType"] as? String == "team" }?["teamName"] as? String == "acme")
        // The installation's permissions as Vercel reports them, in Vercel's words.
        #expect(
            all.allSatisfy { ($0["scopes"] as? [String])?.contains("read-write:deployment") == true }, "\(status.text)")

        // Connecting the same account again updates the connection instead of adding one.
        #expect(try await connect(try await initiate(user).url + "&login_hint=\(username)", as: user).status == 200)
        #expect(try connections(of: user) == 2)
    }

    @Test func aReplayedExpiredOrDeniedStateStoresNothing() async throws {
        let user = try fixtures.user()
        let (_, username) = try await vercelAccount()

        let (url, _) = try await initiate(user)
        let consent = try browser.send(HTTPRequest(method: "GET", url: url + "&login_hint=\(username)"))
        let callback = try #require(consent.header("location"))
        let landed = try follow(callback)
        #expect(try await client.confirm(landed, as: user).status == 200)
        #expect(try follow(callback) == settings["SHEEN_OAUTH_FAILURE_URL"]! + "?error=STATE_INVALID")
        // A confirmation is spent by its first use.
        let again = try await client.confirm(landed, as: user)
        #expect(again.status == 404 && again.code == "CONFIRMATION_INVALID")
        #expect(try connections(of: user) == 1)

        let other = try fixtures.user()
        let (expiring, state) = try await initiate(other)
        try fixtures.db.execute(
            "UPDATE vercel_oauth_states SET created_at = now() - interval '20 minutes', expires_at = now() - interval '10 minutes' WHERE state_hash = \(Crypto.Digest.sha256Hex(state))"
        )
        #expect(
            try follow(expiring + "&login_hint=\(username)") == settings["SHEEN_OAUTH_FAILURE_URL"]!
                + "?error=STATE_INVALID")

        #expect(
            try follow(try await initiate(other).url + "&login_hint=\(username)&deny=1") == settings[
                "SHEEN_OAUTH_FAILURE_URL"]! + "?error=ACCESS_DENIED")
        #expect(
            try follow(settings["VERCEL_OAUTH_REDIRECT_URI"]! + "?code=x&state=" + String(repeating: "a", count: 43))
                .hasSuffix("error=STATE_INVALID"))
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
        let sealed = try #require(
            try fixtures.db.query("SELECT code_verifier_sealed FROM vercel_oauth_states WHERE state_hash = \(hash)")[0][
                "code_verifier_sealed"])
        let keys = try KeyRing(parsing: settings["TOKEN_ENCRYPTION_KEYS"]!)
        let verifier = try keys.open(
            sealed, context: SealContext(table: "vercel_oauth_states", column: "code_verifier_sealed", rowID: hash))
        let authorize =
            settings["VERCEL_OAUTH_AUTHORIZE_URL"]!
            + "?client_id=\(settings["VERCEL_OAUTH_CLIENT_ID"]!)&response_type=code"
            + "&redirect_uri=\(QueryEncoding.encode(settings["VERCEL_OAUTH_REDIRECT_URI"]!))&state=\(state)&login_hint=\(username)"
            + "&code_challenge=\(Base64URL.encode(Digest.sha256(Array(verifier.utf8))))&code_challenge_method=S256"
        #expect(try await connect(authorize, as: user).status == 200)
        let row = try fixtures.db.query(
            "SELECT auth_mode, refresh_token_sealed IS NOT NULL AS refreshable, token_expires_at > now() + interval '50 minutes' AS expires FROM vercel_connections WHERE user_id = \(user)"
        )
        #expect(
            row.first?["auth_mode"] == "oauth_app" && row.first?["refreshable"] == "t" && row.first?["expires"] == "t")

        // A code exchanged with another verifier than the state's is refused and stores nothing.
        let other = try fixtures.user()
        let (_, otherState) = try await initiate(other)
        try fixtures.db.execute(
            "UPDATE vercel_oauth_states SET auth_mode = 'oauth_app' WHERE state_hash = \(Digest.sha256Hex(otherState))")
        let forged =
            settings["VERCEL_OAUTH_AUTHORIZE_URL"]!
            + "?client_id=\(settings["VERCEL_OAUTH_CLIENT_ID"]!)&response_type=code"
            + "&redirect_uri=\(QueryEncoding.encode(settings["VERCEL_OAUTH_REDIRECT_URI"]!))&state=\(otherState)&login_hint=\(username)"
            + "&code_challenge=\(Base64URL.encode(Digest.sha256(Array("attacker-chosen-verifier-0123456789abcdefghij".utf8))))&code_challenge_method=S256"
        #expect(try follow(forged) == settings["SHEEN_OAUTH_FAILURE_URL"]! + "?error=TOKEN_EXCHANGE_FAILED")
        #expect(try connections(of: other) == 0)
    }

    @Test func initiateRefusesForeignRedirectsAndOtherUsersProjects() async throws {
        let user = try fixtures.user()
        let stranger = try fixtures.project(owner: try fixtures.user())
        let redirect = try await client.signed(
            "POST", "/v1/internal/vercel/oauth/initiate",
            json: #"{"userId":"\#(user)","redirectUri":"https://evil.example.com/x"}"#)
        #expect(redirect.status == 400 && redirect.code == "INVALID_REDIRECT_URI")
        let project = try await client.signed(
            "POST", "/v1/internal/vercel/oauth/initiate", json: #"{"userId":"\#(user)","projectId":"\#(stranger)"}"#)
        #expect(project.status == 404 && project.code == "PROJECT_NOT_FOUND")
    }

    @Test func noIssuedTokenIsStoredInPlaintextOrLoggedAndDisconnectRevokesThem() async throws {
        let user = try fixtures.user()
        let (account, username) = try await vercelAccount()
        #expect(try await connect(try await initiate(user).url + "&login_hint=\(username)", as: user).status == 200)
        let issued = try JSONDecoder().decode([String].self, from: try await account.admin("GET", "/_sim/tokens", nil))
        #expect(!issued.isEmpty)
        // One more authorization, left waiting for its confirmation: its tokens are sealed too.
        let waiting = try fixtures.user()
        #expect(try follow(try await initiate(waiting).url + "&login_hint=\(username)").contains("status=confirm"))
        #expect(
            try fixtures.db.query("SELECT count(*) AS n FROM vercel_oauth_confirmations WHERE user_id = \(waiting)")[0][
                "n"] == "1")
        let everyIssued = try JSONDecoder().decode(
            [String].self, from: try await account.admin("GET", "/_sim/tokens", nil))
        #expect(everyIssued.count > issued.count)

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
        for token in everyIssued {
            #expect(!dump.contains(token), "a token is stored in plaintext")
            #expect(!logs.contains(token), "a token reached a log")
        }

        let reply = try await client.signed(
            "POST", "/v1/internal/vercel/oauth/disconnect", json: #"{"userId":"\#(user)"}"#)
        #expect(reply.status == 200 && reply.json?["disconnected"] as? Bool == true)
        let status = try await client.signed("GET", "/v1/internal/vercel/oauth/status?userId=\(user)")
        #expect(status.json?["connected"] as? Bool == false)
        let wiped = try fixtures.db.query(
            "SELECT access_token_sealed, status::text AS status FROM vercel_connections WHERE user_id = \(user)")
        #expect(wiped.first?["access_token_sealed"] == nil && wiped.first?["status"] == "disconnected")
        let vercel = VercelClient(
            configuration: .init(apiBaseURL: account.baseURL), transport: CurlTransport(), breakers: nil,
            logger: .init(label: "t"))
        for token in issued {
            #expect(throws: VercelError.unauthorized(status: 403, message: "Not authorized")) {
                try vercel.user(VercelClient.Credentials(accessToken: token))
            }
        }
        let again = try await client.signed(
            "POST", "/v1/internal/vercel/oauth/disconnect", json: #"{"userId":"\#(user)"}"#)
        #expect(again.status == 404 && again.code == "CONNECTION_NOT_FOUND")
    }

    /// An authorization link started by one user and completed in another user's browser (with that
    /// person's Vercel account) must not connect the second account to the first user.
    @Test func anAuthorizationCompletedForAnotherUserIsRefusedRevokedAndStoresNothing() async throws {
        let starter = try fixtures.user()
        let victim = try fixtures.user()
        let (victimAccount, victimUsername) = try await vercelAccount()
        let (url, _) = try await initiate(starter)
        let landed = try follow(url + "&login_hint=\(victimUsername)")
        #expect(landed.contains("status=confirm#confirmation="))
        #expect(
            !(landed.split(separator: "#")[0]).contains("confirmation"), "the confirmation must not travel in the query"
        )
        let issued = try JSONDecoder().decode(
            [String].self, from: try await victimAccount.admin("GET", "/_sim/tokens", nil))
        #expect(!issued.isEmpty)

        // The victim's browser is signed in to the platform as the victim: the mismatch is refused.
        let refused = try await client.confirm(landed, as: victim)
        #expect(
            refused.status == 403 && refused.code == "OAUTH_USER_MISMATCH"
                && refused.json?["action"] as? String == "RECONNECT")
        // The starter cannot confirm it afterwards either: it is spent.
        let late = try await client.confirm(landed, as: starter)
        #expect(late.status == 404 && late.code == "CONFIRMATION_INVALID")
        #expect(try connections(of: starter) == 0 && connections(of: victim) == 0)
        #expect(
            try fixtures.db.query("SELECT count(*) AS n FROM vercel_oauth_confirmations WHERE user_id = \(starter)")[0][
                "n"] == "0")
        let vercel = VercelClient(
            configuration: .init(apiBaseURL: victimAccount.baseURL), transport: CurlTransport(), breakers: nil,
            logger: .init(label: "t"))
        for token in issued {
            #expect(throws: VercelError.self) { try vercel.user(VercelClient.Credentials(accessToken: token)) }
        }
        let audit = try fixtures.db.query(
            "SELECT severity, details->>'startedBy' AS started FROM vercel_security_audit_log WHERE action = 'VERCEL_CONNECT_USER_MISMATCH' AND actor_user_id = \(victim)"
        )
        #expect(audit.first?["severity"] == "HIGH" && audit.first?["started"] == starter.uuidString.lowercased())

        // An unknown or malformed confirmation is refused without a trace of a connection.
        let unknown = try await client.signed(
            "POST", "/v1/internal/vercel/oauth/confirm",
            json: #"{"userId":"\#(victim)","confirmation":"\#(String(repeating: "x", count: 43))"}"#)
        #expect(unknown.status == 404 && unknown.code == "CONFIRMATION_INVALID")
        let confirmation = try #require(StackClient.confirmation(in: landed))
        #expect(!(try StackFixtures.logs()).contains(confirmation), "a confirmation reached a log")
    }

    /// With `SHEEN_OAUTH_CONFIRMATION=off` (a frontend that does not confirm yet), the callback
    /// stores the connection at once, as before. A function of its own with that setting, driven
    /// over FastCGI on the stack's database.
    @Test func withConfirmationOffTheCallbackStoresTheConnectionAtOnce() async throws {
        let function = try await FunctionProcess(group: "oauth", overrides: ["SHEEN_OAUTH_CONFIRMATION": "off"])
        defer { function.stop() }
        let socket = function.socket

        let user = try fixtures.user()
        let (_, username) = try await vercelAccount()
        let (url, _) = try await initiate(user)
        let consent = try browser.send(HTTPRequest(method: "GET", url: url + "&login_hint=\(username)"))
        let callback = try #require(consent.header("location"))
        let path = String(
            callback.dropFirst(
                callback.range(of: "/v1/internal/vercel/oauth/callback")!.lowerBound.utf16Offset(in: callback)))
        let reply = try FastCGIClient.get(socket: socket, uri: path)
        #expect(reply.contains("Status: 302"))
        #expect(
            reply.contains("Location: " + settings["SHEEN_OAUTH_SUCCESS_URL"]! + "?status=connected&connectionId="),
            "\(reply)")
        #expect(try connections(of: user) == 1)
        #expect(
            try fixtures.db.query("SELECT count(*) AS n FROM vercel_oauth_confirmations WHERE user_id = \(user)")[0][
                "n"] == "0")
    }
}
