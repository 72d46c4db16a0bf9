import Crypto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What an environment variable may be, as the env group takes it: its key, target, type and value,
/// refused with a reason in words, before anything is stored or sent.
public enum EnvRules {
    /// A value's bytes at most; Vercel allows 64 KB per deployment for all variables together.
    public static let valueLimit = 65_536
    /// Above this, a target's variables no longer fit in one deployment: a warning, not a refusal.
    public static let deploymentLimit = 65_536

    public enum Problem: Error, Equatable, CustomStringConvertible {
        case invalidKey
        case reservedKey(String)
        case systemKey(String)
        case valueTooLong
        case invalidTarget(String)
        case invalidType(String)
        case sensitiveOnDevelopment

        public var description: String {
            switch self {
            case .invalidKey:
                "a key is 1 to 256 letters, digits and underscores, not starting with a digit (this service's rule; Vercel's own is not published)"
            case .reservedKey(let key): "\(key) is reserved by Vercel's function runtimes"
            case .systemKey(let key): "\(key) is one of Vercel's system variables, set by Vercel itself"
            case .valueTooLong: "a value is at most 64 KB"
            case .invalidTarget(let target): "\(target) is not a target (production, preview or development)"
            case .invalidType(let type): "\(type) is not a type (plain, encrypted or sensitive)"
            case .sensitiveOnDevelopment: "a sensitive value cannot target development (Vercel refuses it)"
            }
        }
    }

    /// Vercel's reserved names (its runtimes set them).
    public static let reserved: Set<String> = [
        "AWS_SECRET_KEY", "AWS_EXECUTION_ENV", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION", "NOW_REGION",
        "TZ",
        "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
    ]

    /// Vercel's system variables (it sets them on every deployment), and the prefix of its git ones.
    public static let system: Set<String> = [
        "VERCEL", "CI", "VERCEL_ENV", "VERCEL_URL", "VERCEL_BRANCH_URL", "VERCEL_PROJECT_PRODUCTION_URL",
        "VERCEL_REGION", "VERCEL_DEPLOYMENT_ID", "VERCEL_PROJECT_ID", "VERCEL_SKEW_PROTECTION_ENABLED",
        "VERCEL_AUTOMATION_BYPASS_SECRET", "VERCEL_OIDC_TOKEN",
    ]
    public static let systemPrefixes = ["VERCEL_GIT_"]

    public static let targets: Set<String> = ["production", "preview", "development"]

    /// Whether `branch` may scope a preview variable: a git branch name (git's ref-format rules:
    /// no control characters, spaces, `..`, `~`, `^`, `:` …) of at most 250 bytes, Vercel's limit.
    public static func isValidGitBranch(_ branch: String) -> Bool {
        branch.utf8.count <= 250 && GitRef.isValidBranch(branch)
    }
    public static let types: Set<String> = ["plain", "encrypted", "sensitive"]

    /// Checks a key: `^[A-Za-z_][A-Za-z0-9_]*$`, 256 characters at most, neither reserved nor a
    /// system variable.
    public static func check(key: String) throws(Problem) {
        let bytes = Array(key.utf8)
        guard (1...256).contains(bytes.count),
            bytes.allSatisfy({ $0 == UInt8(ascii: "_") || isLetter($0) || isDigit($0) }), !isDigit(bytes[0])
        else { throw .invalidKey }
        let upper = key.uppercased()
        if reserved.contains(upper) { throw .reservedKey(key) }
        if system.contains(upper) || systemPrefixes.contains(where: { upper.hasPrefix($0) }) { throw .systemKey(key) }
    }

    /// Checks a variable as a request would set it.
    public static func check(key: String, value: String, targets: [String], type: String) throws(Problem) {
        try check(key: key)
        guard value.utf8.count <= valueLimit else { throw .valueTooLong }
        guard types.contains(type) else { throw .invalidType(type) }
        for target in targets where !Self.targets.contains(target) { throw .invalidTarget(target) }
        if type == "sensitive", targets.contains("development") { throw .sensitiveOnDevelopment }
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }

    /// What an answer may show of a value: nothing of a sensitive one or of one of 12 characters or
    /// fewer, else its last 2 characters.
    public static func masked(_ value: String, type: String) -> String {
        guard type != "sensitive", value.count > 12 else { return "****" }
        return "****" + value.suffix(2)
    }
}

/// The keyed hash by which values are compared and shown (`valueHash`): an HMAC-SHA256 under a key
/// derived from the service's secret, over the project and the value. A plain SHA-256 of a short
/// secret could be reversed by trying candidates; this cannot without the key, and the same value in
/// two projects hashes differently.
public struct EnvValueHasher: Sendable {
    private let key: [UInt8]

    public init(secret: [UInt8]) {
        key = HMAC.sha256(key: secret, message: Array("sheen.vercel.env-value-hash.v1".utf8))
    }

    public func hash(_ value: String, projectID: UUID) -> String {
        var message: [UInt8] = []
        for field in [projectID.uuidString.lowercased(), value] {
            let bytes = Array(field.utf8)
            message += withUnsafeBytes(of: UInt32(bytes.count).bigEndian, Array.init)
            message += bytes
        }
        return Hex.encode(HMAC.sha256(key: key, message: message))
    }
}
