#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import FastCGI
import Logging
import Postgres
import Vercel

/// What a worker thread owns and lends to every request it serves: its database connection and
/// the group's configuration. Never shared between threads.
public final class RequestContext {
    public let group: String
    public let configuration: ServiceConfiguration
    public let database: PostgresConnection
    public let logger: Logger

    public init(group: String, configuration: ServiceConfiguration, logger: Logger) {
        self.group = group
        self.configuration = configuration
        self.logger = logger
        database = PostgresConnection(
            .init(
                url: configuration.databaseURL, statementTimeout: configuration.statementTimeout,
                applicationName: "sheen-vercel-\(group)"))
    }

    private var vercelParts: (settings: VercelSettings, client: VercelClient, oauth: VercelOAuth)?

    /// The connection store and token service of this thread.
    public func tokens() throws -> (store: ConnectionStore, service: TokenService) {
        let store = ConnectionStore(database: database, keyRing: configuration.keyRing)
        return (store, TokenService(database: database, store: store, oauth: try vercel().oauth, logger: logger))
    }

    /// This thread's Vercel settings, client and token client, made on first use.
    /// - Throws: 503 `VERCEL_NOT_CONFIGURED` naming the missing setting.
    public func vercel() throws -> (settings: VercelSettings, client: VercelClient, oauth: VercelOAuth) {
        if let vercelParts { return vercelParts }
        let settings: VercelSettings
        do {
            settings = try VercelSettings.fromEnvironment()
        } catch {
            logger.error("vercel settings missing", metadata: ["error.detail": "\(error)"])
            throw HTTPError(503, code: "VERCEL_NOT_CONFIGURED", message: "The Vercel integration is not configured")
        }
        let transport = CurlTransport()
        let client = VercelClient(
            configuration: .init(apiBaseURL: settings.apiBaseURL), transport: transport,
            breakers: CircuitBreakerStore(breaker: CircuitBreaker(), database: database), logger: logger)
        let oauth = VercelOAuth(configuration: settings.oauthConfiguration, transport: transport, logger: logger)
        vercelParts = (settings, client, oauth)
        return (settings, client, oauth)
    }
}
