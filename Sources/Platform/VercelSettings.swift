#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Vercel

/// How this service reaches Vercel and where the OAuth dance starts and ends. Read when a group
/// first needs Vercel; a missing value is a 503 `VERCEL_NOT_CONFIGURED` for that request only.
public struct VercelSettings: Sendable {
    public enum Mode: String, Sendable {
        /// The integration install flow (the default): long-lived tokens, no refresh.
        case integration
        /// "Sign in with Vercel": PKCE, expiring access tokens, rotating refresh tokens.
        case oauthApp = "oauth_app"
    }

    public var apiBaseURL: String
    public var mode: Mode
    public var clientID: String
    public var clientSecret: String
    /// This service's callback, registered with Vercel.
    public var redirectURI: String
    public var authorizeURL: String
    public var integrationInstallURL: String
    public var tokenURL: String
    public var revokeURL: String
    /// Where the user's browser goes after the callback.
    public var successURL: String
    public var failureURL: String
    /// Scopes an integration token holds (integration tokens do not say).
    public var integrationScopes: [String]
    /// Whether a connection waits, after the callback, for the platform to confirm it for the
    /// signed-in user (`SHEEN_OAUTH_CONFIRMATION`, `required` by default, or `off`). The callback
    /// only has the browser, not the user, so without it an authorization link started by one user
    /// and completed in another's browser would connect the second one's Vercel account to the first.
    public var confirmationRequired: Bool

    /// The token client's configuration for these settings.
    public var oauthConfiguration: VercelOAuth.Configuration {
        .init(
            clientID: clientID, clientSecret: clientSecret, redirectURI: redirectURI,
            integrationTokenURL: apiBaseURL + "/v2/oauth/access_token", tokenURL: tokenURL, revokeURL: revokeURL)
    }

    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> VercelSettings {
        func required(_ name: String) throws -> String {
            guard let value = environment[name], !value.isEmpty else { throw ConfigurationError.missing(name) }
            return value
        }
        let api = environment["VERCEL_API_BASE_URL"] ?? "https://api.vercel.com"
        let slug = environment["VERCEL_INTEGRATION_SLUG"] ?? ""
        guard let mode = Mode(rawValue: environment["VERCEL_AUTH_MODE"] ?? "integration") else {
            throw ConfigurationError.malformed("VERCEL_AUTH_MODE", "must be integration or oauth_app")
        }
        let confirmation = environment["SHEEN_OAUTH_CONFIRMATION"] ?? "required"
        guard ["required", "off"].contains(confirmation) else {
            throw ConfigurationError.malformed("SHEEN_OAUTH_CONFIRMATION", "must be required or off")
        }
        return VercelSettings(
            apiBaseURL: api, mode: mode, clientID: try required("VERCEL_OAUTH_CLIENT_ID"),
            clientSecret: try required("VERCEL_OAUTH_CLIENT_SECRET"), redirectURI: try required("VERCEL_OAUTH_REDIRECT_URI"),
            authorizeURL: environment["VERCEL_OAUTH_AUTHORIZE_URL"] ?? "https://vercel.com/oauth/authorize",
            integrationInstallURL: environment["VERCEL_INTEGRATION_INSTALL_URL"] ?? "https://vercel.com/integrations/\(slug)/new",
            tokenURL: environment["VERCEL_OAUTH_TOKEN_URL"] ?? api + "/login/oauth/token",
            revokeURL: environment["VERCEL_OAUTH_REVOKE_URL"] ?? api + "/login/oauth/token/revoke",
            successURL: try required("SHEEN_OAUTH_SUCCESS_URL"), failureURL: try required("SHEEN_OAUTH_FAILURE_URL"),
            integrationScopes: (environment["VERCEL_INTEGRATION_SCOPES"] ?? "user:read,project:read,project:write,deployment:read,deployment:write,env:read,env:write,domain:read,domain:write,team:read")
                .split(separator: ",").map { String($0) },
            confirmationRequired: confirmation == "required")
    }
}
