import Crypto
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// What every group reads from its environment at start. A missing or malformed required value
/// stops the process before it listens, with a message that names the variable but never its value.
public struct ServiceConfiguration: Sendable {
    /// libpq connection string or URL of the service's database.
    public var databaseURL: String
    /// `SHEEN_HMAC_SECRET`, used as raw UTF-8 bytes for the platform's request signatures.
    public var platformSecret: [UInt8]
    /// `SHEEN_ACCEPT_V1=1` also accepts the legacy `x-sheen-signature` header.
    public var acceptLegacySignatures: Bool
    /// `TOKEN_ENCRYPTION_KEYS`: the key ring that seals tokens and secrets at rest.
    public var keyRing: KeyRing
    /// `SHEEN_ENABLE_FAULT_ROUTES=1` adds routes that fail on purpose, for the end-to-end tests of
    /// the crash guard. Never set in production.
    public var faultRoutesEnabled: Bool
    /// How long a statement may run before Postgres cancels it.
    public var statementTimeout: Duration

    public init(
        databaseURL: String, platformSecret: [UInt8], acceptLegacySignatures: Bool = false, keyRing: KeyRing,
        faultRoutesEnabled: Bool = false, statementTimeout: Duration = .seconds(5)
    ) {
        self.databaseURL = databaseURL
        self.platformSecret = platformSecret
        self.acceptLegacySignatures = acceptLegacySignatures
        self.keyRing = keyRing
        self.faultRoutesEnabled = faultRoutesEnabled
        self.statementTimeout = statementTimeout
    }

    /// Reads the configuration from `environment`.
    /// - Throws: `ConfigurationError` naming the first variable that is missing or malformed.
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> ServiceConfiguration {
        func required(_ name: String) throws -> String {
            guard let value = environment[name], !value.isEmpty else { throw ConfigurationError.missing(name) }
            return value
        }
        let secret = try required("SHEEN_HMAC_SECRET")
        guard secret.utf8.count >= 32 else {
            throw ConfigurationError.malformed("SHEEN_HMAC_SECRET", "must be at least 32 bytes")
        }
        let keyRing: KeyRing
        do {
            keyRing = try KeyRing(parsing: try required("TOKEN_ENCRYPTION_KEYS"))
        } catch let error as CryptoError {
            throw ConfigurationError.malformed("TOKEN_ENCRYPTION_KEYS", "\(error)")
        }
        var timeout = Duration.seconds(5)
        if let text = environment["DATABASE_STATEMENT_TIMEOUT_MS"] {
            guard let ms = Int(text), (100...600_000).contains(ms) else {
                throw ConfigurationError.malformed("DATABASE_STATEMENT_TIMEOUT_MS", "must be 100 to 600000")
            }
            timeout = .milliseconds(ms)
        }
        return ServiceConfiguration(
            databaseURL: try required("DATABASE_URL"),
            platformSecret: Array(secret.utf8),
            acceptLegacySignatures: environment["SHEEN_ACCEPT_V1"] == "1",
            keyRing: keyRing,
            faultRoutesEnabled: environment["SHEEN_ENABLE_FAULT_ROUTES"] == "1",
            statementTimeout: timeout)
    }
}

/// A configuration value that is missing or unusable.
public enum ConfigurationError: Error, CustomStringConvertible, Equatable {
    case missing(String)
    case malformed(String, String)

    public var description: String {
        switch self {
        case .missing(let name): "\(name) is not set"
        case .malformed(let name, let reason): "\(name) is malformed: \(reason)"
        }
    }
}
