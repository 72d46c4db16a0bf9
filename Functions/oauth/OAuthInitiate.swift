#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Crypto
import FastCGI
import Platform

/// `POST /v1/internal/vercel/oauth/initiate`: a single-use `state` (256 random bits, kept only as
/// its SHA-256) bound to the user, team, return page and PKCE verifier (sealed), valid 10 minutes.
enum OAuthInitiate {
    static let lifetimeSeconds = 600
    static let maxPendingPerUser = 20

    struct Body: Decodable {
        let userId: String
        let teamId: String?
        let redirectUri: String?
        let projectId: String?
    }

    struct Reply: Encodable {
        let authorizationUrl: String
        let state: String
        let expiresAt: Date
    }

    @Sendable static func handle(_ request: Request, _ context: RequestContext, _ caller: PlatformCaller) throws -> Response {
        let body = try request.decodeJSON(Body.self)
        let (settings, _, _) = try context.vercel()
        if let team = body.teamId {
            guard (1...255).contains(team.utf8.count), team.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "&") }) else {
                throw HTTPError.badRequest("teamId is not a Vercel team id", code: "INVALID_TEAM_ID")
            }
        }
        if let project = body.projectId { try caller.requireOwnership(of: project, database: context.database) }
        if let redirect = body.redirectUri {
            guard redirect.utf8.count <= 2048, Self.origin(of: redirect) != nil, Self.origin(of: redirect) == Self.origin(of: settings.successURL) else {
                throw HTTPError.badRequest("redirectUri must be a page of the platform", code: "INVALID_REDIRECT_URI")
            }
        }
        let pending = try context.database.query(
            "SELECT count(*) AS n FROM vercel_oauth_states WHERE user_id = \(caller.userID) AND consumed_at IS NULL AND expires_at > now()"
        )[0].decode("n", as: Int.self)
        guard pending < maxPendingPerUser else {
            throw HTTPError(429, code: "RATE_LIMITED", message: "Too many connections started; finish or wait for one", extraFields: ["retryAfter": 600])
        }

        let state = try SecureRandom.token(byteCount: 32)
        let stateHash = Digest.sha256Hex(state)
        let verifier = try SecureRandom.token(byteCount: 32)
        let challenge = Base64URL.encode(Digest.sha256(Array(verifier.utf8)))
        let sealed = try context.configuration.keyRing.seal(
            verifier, context: SealContext(table: "vercel_oauth_states", column: "code_verifier_sealed", rowID: stateHash))
        let expires = try context.database.query(
            """
            INSERT INTO vercel_oauth_states (state_hash, user_id, project_id, team_id, redirect_uri, code_verifier_sealed, auth_mode,
              correlation_id, expires_at)
            VALUES (\(stateHash), \(caller.userID), \(body.projectId)::uuid, \(body.teamId), \(body.redirectUri), \(sealed),
              \(settings.mode.rawValue), \(request.requestID), now() + make_interval(secs => \(lifetimeSeconds)))
            RETURNING expires_at
            """)[0].decode("expires_at", as: Date.self)

        let url: String
        switch settings.mode {
        case .integration:
            url = settings.integrationInstallURL + "?state=" + QueryString.encode(state)
        case .oauthApp:
            url = settings.authorizeURL + "?" + [
                ("client_id", settings.clientID), ("redirect_uri", settings.redirectURI), ("response_type", "code"),
                ("scope", "openid email profile offline_access"), ("state", state), ("code_challenge", challenge),
                ("code_challenge_method", "S256"),
            ].map { "\($0.0)=\(QueryString.encode($0.1))" }.joined(separator: "&")
        }
        return .json(Reply(authorizationUrl: url, state: state, expiresAt: expires))
    }

    /// `scheme://host[:port]` of an http(s) URL, lowercased; nil for anything else.
    static func origin(of url: String) -> String? {
        let lower = url.lowercased()
        guard lower.hasPrefix("https://") || lower.hasPrefix("http://") else { return nil }
        let parts = lower.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count >= 3, !parts[2].isEmpty, !parts[2].contains("@") else { return nil }
        return parts[0] + "//" + parts[2]
    }
}
