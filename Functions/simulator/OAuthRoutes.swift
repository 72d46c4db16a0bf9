import Crypto
import FastCGI
import Foundation
import Kernel
import Settings

/// Vercel's two ways to authorize, with consent given at once:
/// - the integration install: `GET /integrations/:slug/new?state=` redirects to the integration's
///   redirect URL with `code`, `configurationId`, `teamId?`, `next`, `state`, `source`; the code is
///   exchanged at `POST /v2/oauth/access_token` (form) for a long-lived token, no refresh token;
/// - the OAuth app: `GET /oauth/authorize` (PKCE S256 required) redirects with `code` and `state`;
///   `POST /login/oauth/token` (form) exchanges it (`authorization_code`, with `code_verifier`) or
///   rotates a refresh token (`refresh_token`); `POST /login/oauth/token/revoke` (Basic auth,
///   `token=`); `GET /login/oauth/userinfo`.
/// `login_hint` (a username made with `/_sim/accounts`) picks the consenting account, `team` a team
/// slug of it, `deny=1` refuses. Configured by `VERCEL_OAUTH_CLIENT_ID`, `VERCEL_OAUTH_CLIENT_SECRET`,
/// `VERCEL_INTEGRATION_SLUG`, `VERCEL_OAUTH_REDIRECT_URI` and `SIM_ACCESS_TOKEN_TTL_SECONDS`.
enum OAuthRoutes {
    struct Settings: Sendable {
        var clientID: String
        var clientSecret: String
        var slug: String
        var redirectURI: String
        var accessTokenTTL: Int64

        init(_ configuration: SimulatorConfiguration) {
            clientID = configuration.clientID
            clientSecret = configuration.clientSecret
            slug = configuration.integrationSlug
            redirectURI = configuration.redirectURI
            accessTokenTTL = configuration.accessTokenLifetime
        }
    }

    static let scopes = "openid email profile offline_access"

    static func add(to router: inout Router<SimulatorState>, settings: Settings) {
        router.add("GET", "/integrations/:slug/new") { request, state in
            guard request.parameter("slug") == settings.slug else {
                return oauthError(404, "not_found", "No such integration")
            }
            return try consent(
                request, state, redirectURI: settings.redirectURI, challenge: nil,
                asker: .integration(settings.slug))
        }
        router.add("GET", "/oauth/authorize") { request, state in
            guard request.query("client_id") == settings.clientID else {
                return oauthError(400, "invalid_client", "Unknown client_id")
            }
            guard let redirect = request.query("redirect_uri"), redirect == settings.redirectURI else {
                return oauthError(400, "invalid_request", "redirect_uri does not match the registered one")
            }
            guard request.query("response_type") == "code" else {
                return oauthError(400, "unsupported_response_type", "response_type must be code")
            }
            guard request.query("code_challenge_method") == "S256", let challenge = request.query("code_challenge"),
                challenge.count >= 43
            else {
                return oauthError(400, "invalid_request", "PKCE with code_challenge_method=S256 is required")
            }
            return try consent(
                request, state, redirectURI: redirect, challenge: challenge, asker: .app(settings.clientID))
        }
        router.add("POST", "/v2/oauth/access_token") { request, state in
            let form = formFields(request)
            guard form["client_id"] == settings.clientID, let secret = form["client_secret"],
                ConstantTime.equals(secret, settings.clientSecret)
            else {
                return oauthError(401, "invalid_client", "Invalid client credentials")
            }
            guard let pending = take(code: form["code"], redirectURI: form["redirect_uri"], state) else {
                return oauthError(400, "invalid_grant", "The code is invalid, expired or already used")
            }
            let token = SimulatorState.identifier("")
            // Vercel's installation_id is the configuration the install made.
            let configurationID = pending.configurationID ?? SimulatorState.identifier("icfg_")
            state.with {
                $0.accounts[token] = pending.account
                $0.tokenCalls[pending.account.user.id, default: 0] += 1
                $0.issuedTokens[pending.account.user.id, default: []].append(token)
                $0.configurationTokens[configurationID, default: []].append(token)
                $0.configurationOwners[configurationID] = pending.account.user.id
            }
            return .json(
                IntegrationToken(
                    token_type: "Bearer", access_token: token, installation_id: configurationID,
                    user_id: pending.account.user.id, team_id: pending.teamID))
        }
        router.add("POST", "/login/oauth/token") { request, state in
            try token(request, state, settings)
        }
        router.add("POST", "/login/oauth/token/revoke") { request, state in
            guard let basic = request.headers["authorization"], basic.hasPrefix("Basic "),
                let decoded = Data(base64Encoded: String(basic.dropFirst(6))).map({
                    String(decoding: $0, as: UTF8.self)
                }),
                decoded == "\(settings.clientID):\(settings.clientSecret)"
            else { return oauthError(401, "invalid_client", "Invalid client credentials") }
            let form = formFields(request)
            guard let token = form["token"] else { return oauthError(400, "invalid_request", "token is required") }
            state.with { data in
                if let grant = data.refreshTokens.removeValue(forKey: token) {
                    data.accounts[grant.accessToken] = nil
                } else {
                    data.accounts[token] = nil
                    data.refreshTokens = data.refreshTokens.filter { $0.value.accessToken != token }
                }
            }
            return .json(JSONValue.object([:]))
        }
        // Removing an integration configuration (the user uninstalls): every token it issued stops
        // working. Only its installer's tokens may remove it.
        router.api("DELETE", "/v1/integrations/configuration/:id") { request, state, caller in
            let id = request.parameter("id") ?? ""
            let removed = state.with { data -> Bool in
                guard data.configurationOwners[id] == caller.account.user.id else { return false }
                for token in data.configurationTokens[id] ?? [] { data.accounts[token] = nil }
                data.configurationTokens[id] = nil
                data.configurationOwners[id] = nil
                return true
            }
            guard removed else { throw VercelAPIError.notFound("The integration configuration was not found") }
            return Response(status: 204)
        }
        // An integration configuration as Vercel describes it, with the permissions it holds in
        // Vercel's words (`scopes`, required since 2026; left out with `configurationWithoutScopes`).
        router.api("GET", "/v1/integrations/configuration/:id") { request, state, caller in
            let id = request.parameter("id") ?? ""
            guard state.with({ $0.configurationOwners[id] }) == caller.account.user.id else {
                throw VercelAPIError.notFound("The integration configuration was not found")
            }
            let shapes = state.shapes(caller.token)
            let created = Int64(Date().timeIntervalSince1970 * 1000)
            var fields: [String: JSONValue] = [
                "id": .string(id), "userId": .string(caller.account.user.id), "source": "marketplace",
                "ownerId": .string(caller.ownerID), "integrationId": "oac_simulated", "slug": "sheen-simulated",
                "type": "integration-configuration", "createdAt": .integer(Int(created)),
                "updatedAt": .integer(Int(created)), "projectSelection": "all",
            ]
            if !shapes.has(.configurationWithoutScopes) {
                fields["scopes"] = .array((shapes.scopes ?? SimulatedShapes.allPermissions).map { .string($0) })
            }
            return .json(JSONValue.object(fields))
        }
        router.api("GET", "/login/oauth/userinfo") { _, _, caller in
            let user = caller.account.user
            return .json(
                JSONValue.object([
                    "sub": .string(user.id), "email": .string(user.email), "email_verified": true,
                    "name": .string(user.name ?? user.username), "preferred_username": .string(user.username),
                ]))
        }
        // How long this account's OAuth access tokens live: {"seconds": N}.
        router.add("PUT", "/_sim/oauth/ttl") { request, state in
            struct TTL: Decodable { let seconds: Int64 }
            let token = try AdminRoutes.account(of: request, state)
            let ttl = try request.decodeJSON(TTL.self)
            guard (1...86_400).contains(ttl.seconds) else { throw HTTPError.badRequest("seconds must be 1 to 86400") }
            state.with { data in data.tokenTTL[data.accounts[token]?.user.id ?? ""] = ttl.seconds }
            return .json(JSONValue.object(["seconds": .integer(Int(ttl.seconds))]))
        }
        router.add("GET", "/_sim/oauth/token-calls/:userId") { request, state in
            .json(
                JSONValue.object([
                    "calls": .integer(state.with { $0.tokenCalls[request.parameter("userId") ?? ""] ?? 0 })
                ]))
        }
    }

    /// An `application/x-www-form-urlencoded` body, first value of each name.
    static func formFields(_ request: Request) -> [String: String] {
        Dictionary(QueryString.parse(String(decoding: request.body, as: UTF8.self)).map { ($0.name, $0.value) }) {
            first, _ in first
        }
    }

    struct IntegrationToken: Encodable {
        let token_type: String
        let access_token: String
        let installation_id: String
        let user_id: String
        let team_id: String?

        func encode(to encoder: any Encoder) throws {
            enum Keys: String, CodingKey { case token_type, access_token, installation_id, user_id, team_id }
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(token_type, forKey: .token_type)
            try container.encode(access_token, forKey: .access_token)
            try container.encode(installation_id, forKey: .installation_id)
            try container.encode(user_id, forKey: .user_id)
            try container.encode(team_id, forKey: .team_id)
        }
    }

    struct AppToken: Encodable {
        let access_token: String
        let token_type: String
        let expires_in: Int64
        let refresh_token: String
        let scope: String
    }

    /// Gives consent for the account of `login_hint` and redirects back with a code.
    static func consent(
        _ request: Request, _ state: SimulatorState, redirectURI: String, challenge: String?, asker: Asker
    ) throws -> Response {
        let integration = asker.isIntegration
        var back = [("state", request.query("state") ?? "")]
        if request.query("deny") == "1" {
            back = [("error", "access_denied"), ("error_description", "The user denied access")] + back
            return redirect(redirectURI, back)
        }
        guard let hint = request.query("login_hint") else {
            return consentPage(request, state, asker: asker, redirectURI: redirectURI)
        }
        let account = state.with { data in data.accounts.values.first { $0.user.username == hint } }
        guard let account else { return oauthError(400, "invalid_request", "login_hint must name a simulator account") }
        let team = request.query("team").flatMap { slug in account.teams.first { $0.slug == slug } }
        if request.query("team") != nil, team == nil {
            return oauthError(400, "invalid_request", "The account is not in that team")
        }
        let code = SimulatorState.identifier("")
        let expiresAt = state.now() + 30 * 60 * 1000
        let configurationID = integration ? SimulatorState.identifier("icfg_") : nil
        state.with {
            $0.codes[code] = .init(
                account: account, teamID: team?.id, configurationID: configurationID, redirectURI: redirectURI,
                codeChallenge: challenge, scope: scopes, expiresAt: expiresAt)
        }
        back = [("code", code)] + back
        if let configurationID {
            back += [
                ("configurationId", configurationID), ("next", request.query("next") ?? ""), ("source", "marketplace"),
            ]
            if let team { back.append(("teamId", team.id)) }
        }
        return redirect(redirectURI, back)
    }

    static func take(code: String?, redirectURI: String?, _ state: SimulatorState) -> SimulatorState.PendingCode? {
        guard let code else { return nil }
        let pending = state.with { $0.codes.removeValue(forKey: code) }
        guard let pending, pending.expiresAt > state.now(), redirectURI == nil || redirectURI == pending.redirectURI
        else { return nil }
        return pending
    }

    static func token(_ request: Request, _ state: SimulatorState, _ settings: Settings) throws -> Response {
        let form = formFields(request)
        guard form["client_id"] == settings.clientID else {
            return oauthError(401, "invalid_client", "Unknown client_id")
        }
        if let secret = form["client_secret"], !ConstantTime.equals(secret, settings.clientSecret) {
            return oauthError(401, "invalid_client", "Invalid client credentials")
        }
        switch form["grant_type"] {
        case "authorization_code":
            guard let pending = take(code: form["code"], redirectURI: form["redirect_uri"], state) else {
                return oauthError(400, "invalid_grant", "The code is invalid, expired or already used")
            }
            guard let challenge = pending.codeChallenge, let verifier = form["code_verifier"],
                Base64URL.encode(Digest.sha256(Array(verifier.utf8))) == challenge
            else { return oauthError(400, "invalid_grant", "code_verifier does not match the code_challenge") }
            return .json(
                issue(
                    account: pending.account, scope: pending.scope, grantID: SimulatorState.identifier("grant_"), state,
                    settings))
        case "refresh_token":
            guard let refresh = form["refresh_token"] else {
                return oauthError(400, "invalid_request", "refresh_token is required")
            }
            let outcome = state.with { data -> SimulatorState.Grant? in
                if let grant = data.refreshTokens.removeValue(forKey: refresh) {
                    // The access token issued with it lives on until it expires.
                    data.spentRefreshTokens[refresh] = grant.id
                    return grant
                }
                // A spent refresh token used again means it leaked: revoke everything of its grant.
                if let grantID = data.spentRefreshTokens[refresh] {
                    for (token, grant) in data.refreshTokens where grant.id == grantID {
                        data.refreshTokens[token] = nil
                    }
                    for token in data.grantAccessTokens[grantID] ?? [] { data.accounts[token] = nil }
                }
                return nil
            }
            guard let grant = outcome else {
                return oauthError(400, "invalid_grant", "The refresh token is invalid or was already used")
            }
            return .json(issue(account: grant.account, scope: grant.scope, grantID: grant.id, state, settings))
        default:
            return oauthError(400, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token")
        }
    }

    static func issue(
        account: SimulatorState.Account, scope: String, grantID: String, _ state: SimulatorState, _ settings: Settings
    ) -> AppToken {
        let access = SimulatorState.identifier("vca_")
        let refresh = SimulatorState.identifier("vcr_")
        let ttl = state.with { $0.tokenTTL[account.user.id] } ?? settings.accessTokenTTL
        let expiresAt = state.now() + ttl * 1000
        state.with {
            $0.accounts[access] = account
            $0.tokenExpiry[access] = expiresAt
            $0.refreshTokens[refresh] = .init(id: grantID, account: account, scope: scope, accessToken: access)
            $0.grantAccessTokens[grantID, default: []].append(access)
            $0.tokenCalls[account.user.id, default: 0] += 1
            $0.issuedTokens[account.user.id, default: []] += [access, refresh]
        }
        return AppToken(
            access_token: access, token_type: "Bearer", expires_in: ttl, refresh_token: refresh, scope: scope)
    }

    static func redirect(_ uri: String, _ query: [(String, String)]) -> Response {
        let separator = uri.contains("?") ? "&" : "?"
        let location = uri + separator + query.map { "\($0.0)=\(QueryString.encode($0.1))" }.joined(separator: "&")
        return Response(status: 302, headers: [("Location", location)])
    }

    /// OAuth's own error shape (RFC 6749 §5.2).
    static func oauthError(_ status: Int, _ code: String, _ description: String) -> Response {
        .json(JSONValue.object(["error": .string(code), "error_description": .string(description)]), status: status)
    }

    /// Who asks for consent: an integration (by its slug) or an OAuth app (by its client id).
    enum Asker {
        case integration(String)
        case app(String)

        var isIntegration: Bool {
            if case .integration = self { return true }
            return false
        }

        /// What the page calls it, and the permissions it will hold once approved, in Vercel's
        /// words: an integration's configuration reports its permissions; an OAuth app's token
        /// carries the OpenID scopes it was granted.
        var title: String {
            switch self {
            case .integration(let slug): "the integration \u{201C}\(slug)\u{201D}"
            case .app(let client): "the OAuth app \u{201C}\(client)\u{201D}"
            }
        }

        var permissions: [String] {
            switch self {
            case .integration: SimulatedShapes.allPermissions
            case .app: OAuthRoutes.scopes.split(separator: " ").map(String.init)
            }
        }
    }

    /// The page a person sees when they follow an authorization URL without `login_hint`: who asks,
    /// for which permissions, where the browser goes next, and a button to approve as each account
    /// made for a person (`"person": true`, and each of its teams) or to deny. Each button sends
    /// this same URL with `login_hint` (and `team`) or `deny=1` added.
    static func consentPage(
        _ request: Request, _ state: SimulatorState, asker: Asker, redirectURI: String
    ) -> Response {
        let accounts = state.with { data in
            data.people.compactMap { id in data.accounts.values.first { $0.user.id == id } }
        }
        func escaped(_ text: String) -> String {
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        }
        // The request's own query, carried by each button as hidden fields.
        let carried = QueryString.parse(request.rawQuery).map {
            "<input type=\"hidden\" name=\"\(escaped($0.name))\" value=\"\(escaped($0.value))\">"
        }.joined()
        func button(_ label: String, _ extra: [(String, String)]) -> String {
            let fields = extra.map { "<input type=\"hidden\" name=\"\($0.0)\" value=\"\(escaped($0.1))\">" }.joined()
            return "<form method=\"get\" action=\"\(escaped(request.path))\">\(carried)\(fields)"
                + "<button type=\"submit\">\(escaped(label))</button></form>"
        }
        var rows: [String] = []
        for account in accounts {
            let user = account.user.username
            rows.append("<li>" + button("Approve as \(user)", [("login_hint", user)]) + "</li>")
            for team in account.teams {
                rows.append(
                    "<li>"
                        + button(
                            "Approve as \(user) for the team \(team.name ?? team.slug)",
                            [("login_hint", user), ("team", team.slug)]) + "</li>")
            }
        }
        if rows.isEmpty {
            rows.append(
                "<li>No account was made for a person yet: POST /_sim/accounts with "
                    + "{\"username\": \"…\", \"person\": true}.</li>")
        }
        let permissions = asker.permissions.map { "<li><code>\(escaped($0))</code></li>" }.joined()
        let html = """
            <!doctype html>
            <html><head><meta charset="utf-8"><title>Vercel simulator: authorize</title></head>
            <body><h1>Authorize \(escaped(asker.title))</h1>
            <p>It asks for these permissions:</p><ul class="permissions">\(permissions)</ul>
            <p>Once you decide, your browser goes to <code class="redirect">\(escaped(redirectURI))</code>.</p>
            <p>Choose the simulated Vercel account to connect:</p>
            <ul class="accounts">\(rows.joined(separator: "\n"))</ul>
            \(button("Deny", [("deny", "1")]))</body></html>
            """
        return Response(
            status: 200, headers: [("Content-Type", "text/html; charset=utf-8")], body: .bytes(Array(html.utf8)))
    }
}
