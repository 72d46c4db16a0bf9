#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// A value that can travel as a bind parameter in Postgres text format.
public protocol PostgresBindable {
    var postgresText: String { get }
}

/// A value that can be read back from a column in Postgres text format.
public protocol PostgresDecodable {
    init?(postgresText: String)
}

extension String: PostgresBindable, PostgresDecodable {
    public var postgresText: String { self }
    public init?(postgresText: String) { self = postgresText }
}

extension Int: PostgresBindable, PostgresDecodable {
    public var postgresText: String { String(self) }
    public init?(postgresText: String) { self.init(postgresText) }
}

extension Int64: PostgresBindable, PostgresDecodable {
    public var postgresText: String { String(self) }
    public init?(postgresText: String) { self.init(postgresText) }
}

extension Int32: PostgresBindable, PostgresDecodable {
    public var postgresText: String { String(self) }
    public init?(postgresText: String) { self.init(postgresText) }
}

extension Double: PostgresBindable, PostgresDecodable {
    public var postgresText: String { String(self) }
    public init?(postgresText: String) { self.init(postgresText) }
}

extension Bool: PostgresBindable, PostgresDecodable {
    public var postgresText: String { self ? "true" : "false" }
    public init?(postgresText: String) {
        switch postgresText {
        case "t", "true": self = true
        case "f", "false": self = false
        default: return nil
        }
    }
}

extension UUID: PostgresBindable, PostgresDecodable {
    public var postgresText: String { uuidString.lowercased() }
    public init?(postgresText: String) { self.init(uuidString: postgresText) }
}

extension Date: PostgresBindable, PostgresDecodable {
    /// ISO 8601 in UTC with microseconds, which `timestamptz` reads exactly.
    public var postgresText: String { PostgresTimestamp.format(self) }
    public init?(postgresText: String) {
        guard let date = PostgresTimestamp.parse(postgresText) else { return nil }
        self = date
    }
}

/// A one-dimensional `text[]` value.
extension Array: PostgresBindable where Element == String {
    public var postgresText: String {
        var out: [UInt8] = [UInt8(ascii: "{")]
        for (index, element) in enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "\""))
            for byte in element.utf8 {
                if byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\"") { out.append(UInt8(ascii: "\\")) }
                out.append(byte)
            }
            out.append(UInt8(ascii: "\""))
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }
}

/// An enum stored as its raw text (a `TEXT` column with a `CHECK` of its values): it binds as that
/// text, and a stored text that names no case does not decode.
public protocol PostgresTextEnum: RawRepresentable, PostgresBindable, PostgresDecodable where RawValue == String {}

extension PostgresTextEnum {
    public var postgresText: String { rawValue }
    public init?(postgresText: String) { self.init(rawValue: postgresText) }
}
