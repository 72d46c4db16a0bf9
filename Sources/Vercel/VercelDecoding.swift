import Kernel
import Synchronization

/// Decoding as loose as Vercel's answers are: what its 2026 schema lets it omit is optional, a
/// field it sends as one value or an array reads as an array, ids come as strings or numbers, and
/// time fields are milliseconds that may arrive as `1.0` or `1e3`. A list item that still cannot be
/// read is skipped and counted (`skippedItems`), never allowed to fail its whole list.
public enum VercelDecoding {
    private static let skipped = Mutex<[String: Int]>([:])

    /// How many list items of each kind were skipped since the process started.
    public static var skippedItems: [String: Int] { skipped.withLock { $0 } }

    static func countSkipped(_ kind: String, _ count: Int) {
        guard count > 0 else { return }
        skipped.withLock { $0[kind, default: 0] += count }
        Metrics.shared.increment(.itemsSkipped, [kind], by: Double(count))
    }
}

/// A list whose items are decoded one by one: `null` items are dropped, and one that is not an
/// `Item` is dropped and remembered by its `id` (or `uid`) so the caller can log it.
public struct LossyList<Item: Decodable>: Decodable {
    public var items: [Item] = []
    /// The ids of the items that could not be read (`?` for one without an id).
    public var skipped: [String] = []

    public init(items: [Item] = []) {
        self.items = items
    }

    public init(from decoder: any Decoder) throws {
        var container = try decoder.unkeyedContainer()
        while !container.isAtEnd {
            if try container.decodeNil() { continue }
            if let item = try? container.decode(Item.self) {
                items.append(item)
            } else {
                skipped.append(try container.decode(UnreadItem.self).id ?? "?")
            }
        }
    }
}

/// Any JSON value, read only for the id it may carry.
struct UnreadItem: Decodable {
    let id: String?

    private enum Keys: String, CodingKey { case id, uid }

    init(from decoder: any Decoder) throws {
        let keyed = try? decoder.container(keyedBy: Keys.self)
        id =
            (try? keyed?.decodeIfPresent(String.self, forKey: .id))
            ?? (try? keyed?.decodeIfPresent(String.self, forKey: .uid)) ?? nil
    }
}

extension KeyedDecodingContainer {
    /// A time field in whole milliseconds: an integer, or a number such as `1.0` or `1.5e12`
    /// (a fraction is dropped). Nil when absent or null.
    public func milliseconds(_ key: Key) throws -> Int64? {
        guard contains(key), !(try decodeNil(forKey: key)) else { return nil }
        if let whole = try? decode(Int64.self, forKey: key) { return whole }
        let number = try decode(Double.self, forKey: key)
        guard number.isFinite, abs(number) < 9.0e15 else {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: self, debugDescription: "not a time in milliseconds")
        }
        return Int64(number.rounded(.towardZero))
    }

    /// A time field that must be there, in whole milliseconds (see `milliseconds(_:)`).
    public func requiredMilliseconds(_ key: Key) throws -> Int64 {
        guard let value = try milliseconds(key) else {
            throw DecodingError.keyNotFound(
                key, .init(codingPath: codingPath, debugDescription: "no \(key.stringValue)"))
        }
        return value
    }

    /// A field Vercel sends as one string or as an array of strings. Nil when absent or null.
    public func oneOrMany(_ key: Key) throws -> [String]? {
        guard contains(key), !(try decodeNil(forKey: key)) else { return nil }
        if let one = try? decode(String.self, forKey: key) { return [one] }
        return try decode([String].self, forKey: key)
    }

    /// An id Vercel sends as a string or as a whole number, read as its text. Nil when absent or null.
    public func identifier(_ key: Key) throws -> String? {
        guard contains(key), !(try decodeNil(forKey: key)) else { return nil }
        if let text = try? decode(String.self, forKey: key) { return text }
        return String(try decode(Int64.self, forKey: key))
    }
}
