import Kernel
import Logging

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// A swift-log handler that writes one JSON object per line to stderr: time, level, message, the
/// logger's label as `group`, the request's id (`request.id`) while one is served, and the
/// metadata, whose numbers (given as `.stringConvertible`) are JSON numbers. One `write` per line,
/// so lines from threads never mix.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String

    public init(label: String, level: Logger.Level = .info) {
        self.label = label
        self.logLevel = level
    }

    /// Installs this handler for every logger of the process, at `level`.
    public static func bootstrap(level: Logger.Level) {
        LoggingSystem.bootstrap { JSONLogHandler(label: $0, level: level) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [String: JSONValue] = [
            "time": .string(Self.timestamp()),
            "level": .string(event.level.rawValue),
            "message": .string(event.message.description),
            "group": .string(label),
        ]
        for (key, value) in metadata { fields[key] = Self.json(value) }
        for (key, value) in event.metadata ?? [:] { fields[key] = Self.json(value) }
        if fields["request.id"] == nil, let requestID = Trace.requestID { fields["request.id"] = .string(requestID) }
        var line = JSONValue.object(fields).serialized()
        line.append(UInt8(ascii: "\n"))
        line.withUnsafeBytes { _ = write(2, $0.baseAddress, $0.count) }
    }

    private static func json(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let text): .string(text)
        // Numbers and truth values stay numbers and booleans (`"duration.ms":12`), for queries.
        case .stringConvertible(let convertible as any BinaryInteger):
            Int(exactly: convertible).map(JSONValue.integer) ?? .string(convertible.description)
        case .stringConvertible(let convertible as Double) where convertible.isFinite: .number(convertible)
        case .stringConvertible(let convertible as Bool): .bool(convertible)
        case .stringConvertible(let convertible): .string(convertible.description)
        case .array(let values): .array(values.map(json))
        case .dictionary(let values): .object(values.mapValues(json))
        }
    }

    /// Now in UTC as `2026-11-25T14:31:25.235Z`.
    static func timestamp() -> String {
        ISO8601.format(Date())
    }
}
