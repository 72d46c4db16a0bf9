import FastCGI
import Kernel
import Platform
import PlatformHost

/// Every refusal of the `oauth` group, mapped to its status and code in one place.
enum OAuthError: Error {
    case invalidTeamID
    case invalidRedirectURI
    case tooManyPending
    case confirmationInvalid
    case userMismatch
    case connectionNotFound
}

extension OAuthError: GroupRefusal {
    var parts: (status: Int, code: String, message: String) {
        switch self {
        case .invalidTeamID: (400, "INVALID_TEAM_ID", "teamId is not a Vercel team id")
        case .invalidRedirectURI: (400, "INVALID_REDIRECT_URI", "redirectUri must be a page of the platform")
        case .tooManyPending: (429, "RATE_LIMITED", "Too many connections started; finish or wait for one")
        case .confirmationInvalid:
            (
                404, "CONFIRMATION_INVALID",
                "This Vercel authorization is unknown, already used or expired; connect again"
            )
        case .userMismatch:
            (
                403, "OAUTH_USER_MISMATCH",
                "This Vercel authorization was started by another user; start the connection again from your own account"
            )
        case .connectionNotFound: (404, "CONNECTION_NOT_FOUND", "No Vercel connection")
        }
    }

    var extraFields: [String: JSONValue] {
        switch self {
        case .tooManyPending: ["retryAfter": .integer(OAuthStateStore.lifetimeSeconds)]
        case .confirmationInvalid, .userMismatch: ["action": "RECONNECT"]
        default: [:]
        }
    }
}
