import Crypto
import Foundation

/// One numbered SQL file of `Migrations/`, with the SHA-256 of its bytes.
public struct Migration: Sendable, Equatable {
    public let name: String
    public let sql: String
    public let checksum: String

    public init(name: String, sql: String) {
        self.name = name
        self.sql = sql
        checksum = Hex.encode(Digest.sha256(Array(sql.utf8)))
    }

    /// The `NNN_words.sql` files of `directory`, in order.
    /// - Throws: `MigrationError.badName` for a `.sql` file that does not follow the pattern, and
    ///   `duplicateNumber` when two files share a number.
    public static func load(from directory: URL) throws -> [Migration] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".sql") }
            .sorted()
        var seen: Set<Substring> = []
        return try names.map { name in
            guard isValidName(name) else { throw MigrationError.badName(name) }
            guard seen.insert(name.prefix(3)).inserted else { throw MigrationError.duplicateNumber(name) }
            let data = try Data(contentsOf: directory.appendingPathComponent(name))
            guard let sql = String(data: data, encoding: .utf8) else { throw MigrationError.badName(name) }
            return Migration(name: name, sql: sql)
        }
    }

    static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard bytes.count > 8, bytes.count <= 120, name.hasSuffix(".sql") else { return false }
        let digits = bytes.prefix(3).allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
        let stem = bytes.dropFirst(4).dropLast(4)
        return digits && bytes[3] == UInt8(ascii: "_") && !stem.isEmpty
            && stem.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "_") }
    }
}

public enum MigrationError: Error, Equatable, CustomStringConvertible {
    case badName(String)
    case duplicateNumber(String)
    /// An applied file whose bytes changed: applied files are never edited; add a new one.
    case checksumMismatch(String)
    /// The database records a file that the directory does not have: wrong directory, or a file removed.
    case missingFile(String)

    public var description: String {
        switch self {
        case .badName(let name): "\(name) is not named NNN_lowercase_words.sql"
        case .duplicateNumber(let name): "\(name) shares its number with another file"
        case .checksumMismatch(let name):
            "\(name) was applied with other contents; add a new migration instead of editing it"
        case .missingFile(let name): "\(name) was applied but is not in the migrations directory"
        }
    }
}
