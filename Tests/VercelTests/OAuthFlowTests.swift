import Crypto
import Foundation
import Kernel
import Logging
import TestSupport
import Testing
import Vercel

/// Both of Vercel's authorization flows against the simulator, with the client's token calls.
@Suite struct OAuthFlowTests {
    let settings: [String: String]
    let oauth: VercelOAuth
    let transport = CurlTransport()

    init() throws {
        settings = try TestEnvironment.stackConfiguration()
        oauth = VercelOAuth(
            configuration: .init(
                clientID: settings["VERCEL_OAUTH_CLIENT_ID"]!, clientSecret: settings["VERCEL_OAUTH_CLIENT_SECRET"]!,
                redirectURI: settings["VERCEL_OAUTH_REDIRECT_URI"]!,
                integrationTokenURL: settings["VERCEL_API_BASE_URL"]! + "/v2/oauth/access_token",
                tokenURL: settings["VERCEL_OAUTH_TOKEN_URL"]!, revokeURL: settings["VERCEL_OAUTH_REVOKE_URL"]!),
            transport: CurlTransport(), logger: Logger(label: "test"))
    }

    /// Follows an authorization URL (consent is automatic) and returns the redirect's query.
    func authorize(_ url: String) throws -> [String: String] {
        let response = try transport.send(HTTPRequest(method: "GET", url: url))
        #expect(response.status == 302)
        let location = try #require(response.header("location"))
        #expect(location.hasPrefix(settings["VERCEL_OAUTH_REDIRECT_URI"]! + "?"))
        let query = location.split(separator: "?", maxSplits: 1).last.map(String.init) ?? ""
        return Dictionary(
            query.split(separator: "&").map { pair in
                let parts = pair.split(separator: "=", maxSplits: 1).map {
                    String($0).removingPercentEncoding ?? String($0)
                }
                return (parts[0], parts.count > 1 ? parts[1] : "")
            }
        ) { first, _ in first }
    }

    func client() -> VercelClient {
        VercelClient(
            configuration: .init(apiBaseURL: settings["VERCEL_API_BASE_URL"]!), transport: CurlTransport(),
            breakers: nil, logger: Logger(label: "test"))
    }

    @Test func theIntegrationInstallGivesALongLivedTokenForTheChosenTeam() async throws {
        let account = try await SimulatorAccount.create(teams: ["acme"])
        let username = try client().user(VercelClient.Credentials(accessToken: account.token)).username
        let back = try authorize(
            settings["VERCEL_INTEGRATION_INSTALL_URL"]! + "?state=s-123&login_hint=\(username)&team=acme")
        #expect(back["state"] == "s-123" && back["source"] == "marketplace")
        #expect(back["configurationId"]?.hasPrefix("icfg_") == true && back["teamId"] == account.teamIDs[0])
        let token = try oauth.exchangeIntegrationCode(try #require(back["code"]))
        #expect(token.userID == account.userID && token.teamID == account.teamIDs[0])
        #expect(
            try client().user(VercelClient.Credentials(accessToken: token.accessToken, teamID: token.teamID)).id
                == account.userID)
        #expect(
            throws: VercelError.api(
                status: 400, code: "invalid_grant", message: "The code is invalid, expired or already used")
        ) {
            try oauth.exchangeIntegrationCode(back["code"]!)
        }
    }

    @Test func theAppFlowNeedsPKCEAndRotatesRefreshTokens() async throws {
        let account = try await SimulatorAccount.create()
        let username = try client().user(VercelClient.Credentials(accessToken: account.token)).username
        let verifier = try SecureRandom.token(byteCount: 32)
        let challenge = Base64URL.encode(Digest.sha256(Array(verifier.utf8)))
        let base =
            settings["VERCEL_OAUTH_AUTHORIZE_URL"]!
            + "?client_id=\(settings["VERCEL_OAUTH_CLIENT_ID"]!)&response_type=code"
            + "&redirect_uri=\(VercelTestEncoding.encode(settings["VERCEL_OAUTH_REDIRECT_URI"]!))&state=st&login_hint=\(username)"

        let withoutPKCE = try transport.send(HTTPRequest(method: "GET", url: base))
        #expect(withoutPKCE.status == 400)

        let pkce = base + "&code_challenge=\(challenge)&code_challenge_method=S256"
        let wrong = try authorize(pkce)
        #expect(
            throws: VercelError.api(
                status: 400, code: "invalid_grant", message: "code_verifier does not match the code_challenge")
        ) {
            try oauth.exchangeAuthorizationCode(wrong["code"]!, verifier: "not-the-verifier-" + verifier)
        }

        let back = try authorize(pkce)
        #expect(back["state"] == "st")
        let first = try oauth.exchangeAuthorizationCode(try #require(back["code"]), verifier: verifier)
        #expect(
            first.accessToken.hasPrefix("vca_") && first.refreshToken?.hasPrefix("vcr_") == true
                && first.expiresIn == 3600)

        let second = try oauth.refresh(first.refreshToken!)
        #expect(second.refreshToken != first.refreshToken && second.accessToken != first.accessToken)
        #expect(try client().user(VercelClient.Credentials(accessToken: second.accessToken)).id == account.userID)

        // The spent refresh token used again: refused, and the grant's tokens die with it.
        #expect(
            throws: VercelError.api(
                status: 400, code: "invalid_grant", message: "The refresh token is invalid or was already used")
        ) {
            try oauth.refresh(first.refreshToken!)
        }
        #expect(throws: VercelError.self) { try oauth.refresh(second.refreshToken!) }
        #expect(throws: VercelError.unauthorized(status: 403, message: "Not authorized")) {
            try client().user(VercelClient.Credentials(accessToken: second.accessToken))
        }
    }

    @Test func anExpiredAccessTokenIs401AndTheClientRefreshesOnceAndGoesOn() async throws {
        let account = try await SimulatorAccount.create()
        try await account.admin("PUT", "/_sim/oauth/ttl", ["seconds": 2])
        let username = try client().user(VercelClient.Credentials(accessToken: account.token)).username
        let verifier = try SecureRandom.token(byteCount: 32)
        let back = try authorize(
            settings["VERCEL_OAUTH_AUTHORIZE_URL"]!
                + "?client_id=\(settings["VERCEL_OAUTH_CLIENT_ID"]!)&response_type=code"
                + "&redirect_uri=\(VercelTestEncoding.encode(settings["VERCEL_OAUTH_REDIRECT_URI"]!))&state=x&login_hint=\(username)"
                + "&code_challenge=\(Base64URL.encode(Digest.sha256(Array(verifier.utf8))))&code_challenge_method=S256")
        let pair = try oauth.exchangeAuthorizationCode(back["code"]!, verifier: verifier)
        try await Task.sleep(for: .milliseconds(2100))
        #expect(throws: VercelError.unauthorized(status: 401, message: "The token has expired")) {
            try client().user(VercelClient.Credentials(accessToken: pair.accessToken))
        }
        let oauth = self.oauth
        let credentials = VercelClient.Credentials(accessToken: pair.accessToken) {
            try oauth.refresh(pair.refreshToken!).accessToken
        }
        #expect(try client().user(credentials).id == account.userID)
    }

    @Test func aDeniedConsentAndARevokedTokenFailAsVercelSays() async throws {
        let account = try await SimulatorAccount.create()
        let username = try client().user(VercelClient.Credentials(accessToken: account.token)).username
        let denied = try authorize(
            settings["VERCEL_INTEGRATION_INSTALL_URL"]! + "?state=d&login_hint=\(username)&deny=1")
        #expect(denied["error"] == "access_denied" && denied["state"] == "d" && denied["code"] == nil)

        let back = try authorize(settings["VERCEL_INTEGRATION_INSTALL_URL"]! + "?state=r&login_hint=\(username)")
        let token = try oauth.exchangeIntegrationCode(back["code"]!)
        try oauth.revoke(token.accessToken)
        #expect(throws: VercelError.unauthorized(status: 403, message: "Not authorized")) {
            try client().user(VercelClient.Credentials(accessToken: token.accessToken))
        }
    }
}

enum VercelTestEncoding {
    static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
    }
}
