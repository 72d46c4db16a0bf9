import Crypto
import FastCGI
import Kernel
import Platform
import PlatformHost

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `POST /v1/internal/vercel/oauth/initiate`: a single-use `state` (256 random bits, kept only as
/// its SHA-256) bound to the user, team, return page and PKCE verifier (sealed), valid 10 minutes.
enum OAuthInitiate {
    static let maxPendingPerUser = 20

    struct Input: Decodable {
        let teamId: String?
        let redirectUri: String?
        let projectId: String?
    }

    struct Reply: Encodable {
        let authorizationUrl: String
        let state: String
        let expiresAt: Date
    }

    @Sendable static func handle(_ call: PlatformCall<Input>, _ context: WorkerServices) throws -> Response {
        let input = call.input
        let settings = context.configuration.vercel
        if let team = input.teamId {
            guard (1...255).contains(team.utf8.count),
                team.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "&") })
            else {
                throw OAuthError.invalidTeamID
            }
        }
        let projectID = try input.projectId.map { text -> UUID in
            guard let id = UUID(uuidString: text), try context.projectLinks.isOwned(id, by: call.caller.userID) else {
                throw PlatformError.projectNotFound
            }
            return id
        }
        if let redirect = input.redirectUri {
            // No control character or space: a CR or LF would end the Location header the callback writes.
            guard redirect.utf8.count <= 2048, redirect.utf8.allSatisfy({ $0 > 0x20 && $0 != 0x7f }),
                let origin = Self.origin(of: redirect), origin == Self.origin(of: settings.successURL)
            else {
                throw OAuthError.invalidRedirectURI
            }
        }
        let states = context.oauthStates
        guard try states.pendingCount(call.caller.userID) < maxPendingPerUser else { throw OAuthError.tooManyPending }
        let started = try states.start(
            userID: call.caller.userID, projectID: projectID, teamID: input.teamId, redirectURI: input.redirectUri,
            mode: settings.mode.rawValue)
        let url: String
        switch settings.mode {
        case .integration:
            url = settings.integrationInstallURL + "?state=" + QueryString.encode(started.state)
        case .oauthApp:
            let challenge = Base64URL.encode(Digest.sha256(Array(started.verifier.utf8)))
            url =
                settings.authorizeURL + "?"
                + [
                    ("client_id", settings.clientID), ("redirect_uri", settings.redirectURI), ("response_type", "code"),
                    ("scope", "openid email profile offline_access"), ("state", started.state),
                    ("code_challenge", challenge),
                    ("code_challenge_method", "S256"),
                ].map { "\($0.0)=\(QueryString.encode($0.1))" }.joined(separator: "&")
        }
        return .json(Reply(authorizationUrl: url, state: started.state, expiresAt: started.expiresAt))
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
