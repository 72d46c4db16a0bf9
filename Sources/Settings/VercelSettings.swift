/// How this service reaches Vercel and where the OAuth dance starts and ends.
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
    /// Whether a connection waits, after the callback, for the platform to confirm it for the
    /// signed-in user. The callback only has the browser, not the user, so without it an
    /// authorization link started by one user and completed in another's browser would connect the
    /// second one's Vercel account to the first.
    public var confirmationRequired: Bool

    public static func fromEnvironment(_ environment: Environment = .process()) throws -> VercelSettings {
        let api = environment.string(.vercelAPIBaseURL)
        guard let mode = Mode(rawValue: try environment.choice(.vercelAuthMode, of: ["integration", "oauth_app"]))
        else {
            throw ConfigurationError.malformed(ConfigurationKey.vercelAuthMode.name, "must be integration or oauth_app")
        }
        let slug = environment.string(.vercelIntegrationSlug)
        return VercelSettings(
            apiBaseURL: api, mode: mode, clientID: try environment.required(.vercelClientID),
            clientSecret: try environment.required(.vercelClientSecret),
            redirectURI: try environment.required(.vercelRedirectURI),
            authorizeURL: environment.string(.vercelAuthorizeURL),
            integrationInstallURL: environment.value(.vercelIntegrationInstallURL)
                ?? "https://vercel.com/integrations/\(slug)/new",
            tokenURL: environment.value(.vercelTokenURL) ?? api + "/login/oauth/token",
            revokeURL: environment.value(.vercelRevokeURL) ?? api + "/login/oauth/token/revoke",
            successURL: try environment.required(.oauthSuccessURL),
            failureURL: try environment.required(.oauthFailureURL),
            confirmationRequired: try environment.choice(.oauthConfirmation, of: ["required", "off"]) == "required")
    }
}
