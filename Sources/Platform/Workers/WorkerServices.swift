import Kernel
import Logging
import Postgres
import Vercel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What a group's worker thread owns and lends to every request it serves (built once per worker,
/// not per request), or what a job builds on the connection it opened: the configuration, the
/// database connection, the Vercel clients and the stores over them. Never shared between threads.
public final class WorkerServices {
    public let group: String
    public let configuration: ServiceConfiguration
    /// The connection itself, for the host and the jobs alone (`@_spi(Host) import Platform`): a
    /// group reaches the database through the stores and services it lends.
    @_spi(Host) public let database: PostgresConnection
    public let logger: Logger
    /// Vercel's REST API, with each connection's breaker kept in this database.
    public let vercel: VercelClient
    /// Vercel's token endpoints.
    public let oauth: VercelOAuth
    public let connections: ConnectionStore
    public let tokens: TokenService
    /// Makes a way to reach Vercel: one for this thread's clients, and one for each build log
    /// stream, which outlives its handler.
    public let makeTransport: @Sendable () -> any HTTPTransport

    /// - Parameters:
    ///   - makeTransport: how Vercel is reached; tests script it.
    ///   - bulkhead: set for a function's workers: Vercel calls pass it and take the shorter
    ///     request timeout; jobs leave it nil (no bulkhead, 30 s).
    ///   - reachesVercel: false for a worker that serves only `Reach.local` routes: `vercel` and
    ///     `oauth` then trap on any call, so such a route cannot quietly wait on Vercel.
    ///   - database: the connection to work on; a job passes the one it opened (with the jobs'
    ///     statement timeout, holding the job's lock). Nil: a new one with the groups' timeout.
    public init(
        group: String, configuration: ServiceConfiguration, logger: Logger,
        makeTransport: @escaping @Sendable () -> any HTTPTransport = { CurlTransport() },
        bulkhead: VercelBulkhead? = nil, reachesVercel: Bool = true, database: PostgresConnection? = nil
    ) {
        self.group = group
        self.configuration = configuration
        self.logger = logger
        self.makeTransport = makeTransport
        let transport = reachesVercel ? makeTransport() : LocalOnlyTransport()
        let makeUploadTransport: @Sendable () -> any HTTPTransport
        if reachesVercel {
            makeUploadTransport = makeTransport
        } else {
            makeUploadTransport = { LocalOnlyTransport() }
        }
        let database =
            database
            ?? PostgresConnection(
                .init(
                    url: configuration.databaseURL, statementTimeout: configuration.statementTimeout,
                    applicationName: "sheen-vercel-\(group)"))
        self.database = database
        vercel = VercelClient(
            configuration: .init(
                apiBaseURL: configuration.vercel.apiBaseURL,
                totalTimeout: bulkhead == nil ? .seconds(30) : configuration.isolation.requestTimeout,
                bulkhead: bulkhead),
            transport: transport,
            breakers: CircuitBreakers(
                breaker: CircuitBreaker(), storage: PostgresCircuitBreakerStorage(database: database)),
            logger: logger, makeUploadTransport: makeUploadTransport)
        oauth = VercelOAuth(
            configuration: configuration.vercel.oauthConfiguration, transport: transport, logger: logger)
        connections = ConnectionStore(database: database, keyRing: configuration.keyRing)
        tokens = TokenService(database: database, store: connections, oauth: oauth, logger: logger)
    }

    /// When the request being served must be answered by (the group's request budget); nil
    /// between requests and in jobs. Vercel's clients start no call past it.
    public private(set) var deadline: ContinuousClock.Instant?

    /// Serves the next request until `deadline` (nil: no deadline).
    public func serve(until deadline: ContinuousClock.Instant?) {
        self.deadline = deadline
        vercel.deadline = deadline
        oauth.deadline = deadline
    }

    public var audit: SecurityAudit { SecurityAudit(database: database) }
    public var buildMetrics: BuildMetricsStore { BuildMetricsStore(database: database) }
    public var breakglass: BreakglassStore { BreakglassStore(database: database) }
    public var adminKeys: AdminKeyStore { AdminKeyStore(database: database) }
    public var alerts: AlertOutbox { AlertOutbox(database: database) }
    public var jobs: JobStore { JobStore(database: database) }
    public var autoDeploy: AutoDeployStore { AutoDeployStore(database: database) }
    public var smokeChecks: SmokeCheckStore { SmokeCheckStore(database: database) }
    public var gitRepositories: GitRepositoryStore {
        GitRepositoryStore(database: database, keyRing: configuration.keyRing)
    }
    public var keyRecovery: KeyRecoveryStore { KeyRecoveryStore(database: database, keyRing: configuration.keyRing) }
    /// Vercel's webhook events, logging on `logger`.
    public func webhookProcessor(logger: Logger) -> WebhookProcessor {
        WebhookProcessor(database: database, keyRing: configuration.keyRing, logger: logger)
    }
    public var domains: DomainStore { DomainStore(database: database) }
    /// The project's variables, their sync states and confirmations.
    public var envStore: EnvStore {
        EnvStore(
            database: database, keyRing: configuration.keyRing,
            hasher: EnvValueHasher(secret: configuration.platformSecret))
    }
    public var projectLinks: ProjectLinkStore { ProjectLinkStore(database: database) }
    public var overrides: OverrideTokenStore { OverrideTokenStore(database: database) }
    public var productionHistory: ProductionHistoryStore { ProductionHistoryStore(database: database) }
    public var oauthStates: OAuthStateStore { OAuthStateStore(database: database, keyRing: configuration.keyRing) }
    public var pendingGrants: PendingGrants { PendingGrants(database: database, keyRing: configuration.keyRing) }

    /// The deployments store, logging on `logger`.
    public func deployments(logger: Logger) -> DeploymentStore {
        DeploymentStore(database: database, logger: logger)
    }
}

extension VercelSettings {
    /// The token client's configuration for these settings.
    public var oauthConfiguration: VercelOAuth.Configuration {
        .init(
            clientID: clientID, clientSecret: clientSecret, redirectURI: redirectURI,
            integrationTokenURL: apiBaseURL + "/v2/oauth/access_token", tokenURL: tokenURL, revokeURL: revokeURL)
    }
}
