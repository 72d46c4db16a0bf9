#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The variables a program was started with. The one place the process environment is read:
/// everything else receives typed settings built from it at start.
public struct Environment: Sendable {
    public let values: [String: String]

    public init(_ values: [String: String]) {
        self.values = values
    }

    /// The environment of this process.
    public static func process() -> Environment {
        Environment(ProcessInfo.processInfo.environment)
    }

    /// The value of `key`, nil when unset or empty.
    public func value(_ key: ConfigurationKey) -> String? {
        guard let value = values[key.name], !value.isEmpty else { return nil }
        return value
    }

    /// The value of `key`, or its default.
    func string(_ key: ConfigurationKey) -> String {
        value(key) ?? key.defaultValue ?? ""
    }

    /// The value of a required `key`.
    /// - Throws: `ConfigurationError.missing` naming it.
    func required(_ key: ConfigurationKey) throws -> String {
        guard let value = value(key) else { throw ConfigurationError.missing(key.name) }
        return value
    }

    /// A whole number in `range`, or the key's default.
    func integer(_ key: ConfigurationKey, in range: ClosedRange<Int>) throws -> Int {
        let text = string(key)
        guard let number = Int(text), range.contains(number) else {
            throw ConfigurationError.malformed(
                key.name, "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    /// `1` is on, `0` (or unset) is off.
    func flag(_ key: ConfigurationKey) throws -> Bool {
        switch string(key) {
        case "1": return true
        case "0", "": return false
        default: throw ConfigurationError.malformed(key.name, "must be 0 or 1")
        }
    }

    /// One of `choices`, or the key's default.
    func choice(_ key: ConfigurationKey, of choices: [String]) throws -> String {
        let text = string(key)
        guard choices.contains(text) else {
            throw ConfigurationError.malformed(key.name, "must be \(choices.joined(separator: " or "))")
        }
        return text
    }
}

/// A configuration value that is missing or unusable. The description names the variable and
/// what is wrong with it, never its value.
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
