import Crypto
import Logging

/// Everything a group function reads from its environment, read once at start. A missing or
/// malformed value stops the process before it listens, with a sentence that names the variable
/// but never its value. Handlers receive it through their `WorkerServices`.
public struct ServiceConfiguration: Sendable {
    /// libpq connection string or URL of the service's database.
    public var databaseURL: String
    /// How long a statement may run before Postgres cancels it.
    public var statementTimeout: Duration
    /// `SHEEN_HMAC_SECRET`, used as raw UTF-8 bytes for the platform's request signatures.
    public var platformSecret: [UInt8]
    /// Whether the legacy `x-sheen-signature` header is accepted too.
    public var acceptLegacySignatures: Bool
    /// The key ring that seals tokens and secrets at rest.
    public var keyRing: KeyRing
    /// Whether routes that fail on purpose exist (tests of the crash guard only).
    public var faultRoutesEnabled: Bool
    /// The log of the requests nginx answered itself, which the host's metrics count.
    public var refusalLog: String
    public var logLevel: Logger.Level
    public var vercel: VercelSettings
    public var deployments: DeploymentSettings
    public var webhooks: WebhookSettings
    public var isolation: IsolationSettings

    /// Reads the configuration from `environment`.
    /// - Throws: `ConfigurationError` naming the first variable that is missing or malformed.
    public static func fromEnvironment(_ environment: Environment = .process()) throws -> ServiceConfiguration {
        let secret = try environment.required(.platformSecret)
        guard secret.utf8.count >= 32 else {
            throw ConfigurationError.malformed(ConfigurationKey.platformSecret.name, "must be at least 32 bytes")
        }
        let keyRing = try EncryptionKeys.fromEnvironment(environment)
        let vercel = try VercelSettings.fromEnvironment(environment)
        return ServiceConfiguration(
            databaseURL: try environment.required(.databaseURL),
            statementTimeout: .milliseconds(try environment.integer(.statementTimeout, in: 100...600_000)),
            platformSecret: Array(secret.utf8),
            acceptLegacySignatures: try environment.flag(.acceptLegacySignatures),
            keyRing: keyRing,
            faultRoutesEnabled: try environment.flag(.faultRoutes),
            refusalLog: environment.string(.refusalLog),
            logLevel: try LogLevel.parse(environment),
            vercel: vercel,
            deployments: try DeploymentSettings.fromEnvironment(environment),
            webhooks: WebhookSettings.fromEnvironment(environment, clientSecret: vercel.clientSecret),
            isolation: try IsolationSettings.fromEnvironment(environment))
    }

    /// Reads the configuration from a table of variables, as tests build one.
    public static func fromEnvironment(_ values: [String: String]) throws -> ServiceConfiguration {
        try fromEnvironment(Environment(values))
    }
}

/// The `deployments` group's knobs.
public struct DeploymentSettings: Sendable {
    /// Where the platform keeps its projects' files; nil turns framework detection and deploys
    /// from disk off.
    public var projectsRoot: String?
    /// This service's public base URL, for the `webhookUrl` a link returns.
    public var baseURL: String
    /// Build log pumps one process runs at once.
    public var maxLogPumps: Int
    /// Where the pumps publish build events (nginx's Nchan publisher, on loopback).
    public var logPublishURL: String
    /// How long a deployment may stay in progress without news before it is read again.
    public var staleAfter: Duration
    /// How long a deployment being made may go unrecorded before the sync job looks for it at
    /// Vercel (`vercel_deploy_attempts`).
    public var attemptGrace: Duration
    /// How long the production branch read from Vercel is trusted.
    public var productionBranchTTL: Duration
    /// Dev and tests: the loopback `address:port` smoke checks reach every deployment host at, over
    /// plain http (the simulator); nil in production.
    public var probeVia: String? = nil

    /// A loopback `address:port`, and never beside Vercel's own API: a probe through it skips the
    /// public-address and https rules, which only the simulator may.
    static func probeVia(_ environment: Environment) throws -> String? {
        guard let value = environment.value(.deploymentProbeVia) else { return nil }
        let name = ConfigurationKey.deploymentProbeVia.name
        guard !environment.string(.vercelAPIBaseURL).hasPrefix("https://api.vercel.com") else {
            throw ConfigurationError.malformed(name, "is for the simulator; unset it with Vercel's API")
        }
        let parts = value.split(separator: ":")
        guard parts.count == 2, parts[0] == "127.0.0.1" || parts[0] == "localhost",
            let port = Int(parts[1]), (1...65535).contains(port)
        else { throw ConfigurationError.malformed(name, "must be 127.0.0.1:<port>") }
        return "127.0.0.1:\(port)"
    }

    /// An http URL (the publisher is on loopback), without a trailing `/`.
    static func loopbackURL(_ environment: Environment, _ key: ConfigurationKey) throws -> String {
        let value = environment.string(key)
        guard value.hasPrefix("http://") || value.hasPrefix("https://") else {
            throw ConfigurationError.malformed(key.name, "must be an http(s) URL")
        }
        return value.hasSuffix("/") ? String(value.dropLast()) : value
    }

    public static func fromEnvironment(_ environment: Environment) throws -> DeploymentSettings {
        DeploymentSettings(
            projectsRoot: environment.value(.projectsRoot),
            baseURL: environment.string(.baseURL),
            maxLogPumps: try environment.integer(.maxLogPumps, in: 1...1024),
            logPublishURL: try Self.loopbackURL(environment, .logPublishURL),
            staleAfter: .seconds(60 * (try environment.integer(.staleDeploymentMinutes, in: 1...1440))),
            attemptGrace: .seconds(try environment.integer(.deployAttemptGrace, in: 0...3600)),
            productionBranchTTL: .seconds(try environment.integer(.productionBranchTTL, in: 0...3600)),
            probeVia: try probeVia(environment))
    }
}

/// How one slow Vercel account is kept from stalling everyone else in a function.
public struct IsolationSettings: Sendable {
    /// Calls to Vercel one connection may have in flight in one process.
    public var callsPerConnection: Int
    /// How long the next caller waits for one of them before its 503 `UPSTREAM_BUSY`.
    public var busyWait: Duration
    /// How long a request's call to Vercel may take (jobs allow 30 s).
    public var requestTimeout: Duration
    /// How long one request may hold a worker: no call to Vercel starts, or waits to retry, past
    /// it. Below nginx's 60 s, so the service answers before nginx gives up.
    public var requestBudget: Duration

    public static func fromEnvironment(_ environment: Environment) throws -> IsolationSettings {
        IsolationSettings(
            callsPerConnection: try environment.integer(.vercelCallsPerConnection, in: 1...64),
            busyWait: .milliseconds(try environment.integer(.vercelBusyWait, in: 0...5_000)),
            requestTimeout: .seconds(try environment.integer(.vercelRequestTimeout, in: 1...120)),
            requestBudget: .seconds(try environment.integer(.requestBudget, in: 1...55)))
    }
}

/// The `webhooks` group's knobs.
public struct WebhookSettings: Sendable {
    /// Secrets a Vercel webhook signature may be made with (one may be rotating out).
    public var vercelSecrets: [String]

    static func fromEnvironment(_ environment: Environment, clientSecret: String) -> WebhookSettings {
        let text = environment.value(.vercelWebhookSecrets) ?? clientSecret
        return WebhookSettings(vercelSecrets: text.split(separator: ",").map(String.init).filter { !$0.isEmpty })
    }
}

/// What a one-shot job needs before it knows what work it has: its database and its log level.
public struct JobConfiguration: Sendable {
    public var databaseURL: String
    public var logLevel: Logger.Level

    public static func fromEnvironment(_ environment: Environment = .process()) throws -> JobConfiguration {
        JobConfiguration(databaseURL: try environment.required(.databaseURL), logLevel: try LogLevel.parse(environment))
    }
}

/// Where `vercel-job-alerts` delivers: the platform's endpoint and the Standard Webhooks key.
public struct AlertSettings: Sendable {
    public var url: String
    /// `whsec_` and the base64 of the key's bytes.
    public var secret: String

    /// The settings, or nil when no endpoint is set (alerts then wait in the outbox).
    /// - Throws: `ConfigurationError` when the endpoint is set without a well-formed key.
    public static func fromEnvironment(_ environment: Environment = .process()) throws -> AlertSettings? {
        guard let url = environment.value(.alertWebhookURL) else { return nil }
        guard url.hasPrefix("https://") || url.hasPrefix("http://") else {
            throw ConfigurationError.malformed(ConfigurationKey.alertWebhookURL.name, "must be an http(s) URL")
        }
        let secret = try environment.required(.alertWebhookSecret)
        guard secret.hasPrefix("whsec_"), secret.utf8.count > 6 + 16 else {
            throw ConfigurationError.malformed(
                ConfigurationKey.alertWebhookSecret.name, "must be whsec_ and a base64 key")
        }
        return AlertSettings(url: url, secret: secret)
    }
}

/// Where the git providers' APIs are, for the feedback job (the simulator's in tests).
public struct GitHostSettings: Sendable {
    public var githubAPIURL: String
    public var gitlabAPIURL: String
    public var bitbucketAPIURL: String

    public static func fromEnvironment(_ environment: Environment = .process()) throws -> GitHostSettings {
        func url(_ key: ConfigurationKey) throws -> String {
            let value = environment.string(key)
            guard value.hasPrefix("https://") || value.hasPrefix("http://") else {
                throw ConfigurationError.malformed(key.name, "must be an http(s) URL")
            }
            return value.hasSuffix("/") ? String(value.dropLast()) : value
        }
        return GitHostSettings(
            githubAPIURL: try url(.githubAPIURL), gitlabAPIURL: try url(.gitlabAPIURL),
            bitbucketAPIURL: try url(.bitbucketAPIURL))
    }
}

/// `TOKEN_ENCRYPTION_KEYS` alone, for the programs that re-seal values and need nothing else.
public enum EncryptionKeys {
    public static func fromEnvironment(_ environment: Environment = .process()) throws -> KeyRing {
        do {
            return try KeyRing(parsing: try environment.required(.encryptionKeys))
        } catch let error as CryptoError {
            throw ConfigurationError.malformed(ConfigurationKey.encryptionKeys.name, "\(error)")
        }
    }
}

/// The key that signs the audit chain's checkpoints: never in the database, so a checkpoint proves
/// what the chain held even to someone who can rewrite the database.
public struct AuditCheckpointKey: Sendable {
    public let bytes: [UInt8]

    /// - Throws: `ConfigurationError` when it is unset or shorter than 32 characters.
    public static func fromEnvironment(_ environment: Environment = .process()) throws -> AuditCheckpointKey {
        let text = try environment.required(.auditCheckpointKey)
        guard text.utf8.count >= 32 else {
            throw ConfigurationError.malformed(
                ConfigurationKey.auditCheckpointKey.name, "must be 32 characters or more")
        }
        return AuditCheckpointKey(bytes: Array(text.utf8))
    }
}

/// What `vercel-migrate` reads.
public struct MigrateConfiguration: Sendable {
    public var databaseURL: String
    public var migrationsDirectory: String

    public static func fromEnvironment(_ environment: Environment = .process()) throws -> MigrateConfiguration {
        MigrateConfiguration(
            databaseURL: try environment.required(.databaseURL),
            migrationsDirectory: environment.string(.migrationsDirectory))
    }
}

/// The log level a process writes at.
public enum LogLevel {
    /// `LOG_LEVEL`, `info` when unset.
    public static func parse(_ environment: Environment = .process()) throws -> Logger.Level {
        let text = environment.string(.logLevel)
        guard let level = Logger.Level(rawValue: text) else {
            throw ConfigurationError.malformed(
                ConfigurationKey.logLevel.name, "must be trace, debug, info, notice, warning, error or critical")
        }
        return level
    }
}
