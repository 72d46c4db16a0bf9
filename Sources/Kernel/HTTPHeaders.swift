/// Request headers with lowercase names, in the order nginx passed them. A request has a handful,
/// so lookups scan the list: cheaper than hashing every name on every request.
public struct HTTPHeaders: Sendable {
    public private(set) var fields: [(name: String, value: String)] = []

    public init() {}

    /// The value of the first header named `name` (ASCII case-insensitive); setting nil removes it.
    public subscript(_ name: String) -> String? {
        get { fields.first { Self.same($0.name, name) }?.value }
        set {
            fields.removeAll { Self.same($0.name, name) }
            if let newValue { fields.append((Self.lowercased(name), newValue)) }
        }
    }

    public mutating func append(name: String, value: String) {
        fields.append((name, value))
    }

    private static func same(_ a: String, _ b: String) -> Bool {
        var a = a
        var b = b
        return a.withUTF8 { x in
            b.withUTF8 { y in
                guard x.count == y.count else { return false }
                for index in 0..<x.count where lower(x[index]) != lower(y[index]) { return false }
                return true
            }
        }
    }

    private static func lower(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte
    }

    private static func lowercased(_ name: String) -> String {
        String(decoding: name.utf8.map(lower), as: UTF8.self)
    }
}

extension HTTPHeaders: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, String)...) {
        for (name, value) in elements { self[name] = value }
    }
}
