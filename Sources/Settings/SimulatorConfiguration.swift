/// What the Vercel simulator reads: the credentials of the integration it plays Vercel for, where
/// its webhooks go by default, and its token lifetime. Every value has a default, so a bare
/// simulator starts.
public struct SimulatorConfiguration: Sendable {
    public var clientID: String
    public var clientSecret: String
    public var integrationSlug: String
    public var redirectURI: String
    public var webhookURL: String?
    public var accessTokenLifetime: Int64

    public static func fromEnvironment(_ environment: Environment = .process()) -> SimulatorConfiguration {
        SimulatorConfiguration(
            clientID: environment.value(.vercelClientID) ?? "oac_simulated",
            clientSecret: environment.value(.vercelClientSecret) ?? "simulated-client-secret",
            integrationSlug: environment.value(.vercelIntegrationSlug) ?? "sheen",
            redirectURI: environment.value(.vercelRedirectURI)
                ?? "http://127.0.0.1:8080/v1/internal/vercel/oauth/callback",
            webhookURL: environment.value(.simulatorWebhookURL),
            accessTokenLifetime: environment.value(.simulatorTokenLifetime).flatMap { Int64($0) } ?? 3600)
    }
}
