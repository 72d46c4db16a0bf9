/// Looks over a JSON body before it is decoded, for what a decoder accepts but this service must
/// not: a key twice in one object (Foundation keeps the first, JavaScript the last, so two readers
/// of one body would disagree), a NUL in a string (Postgres refuses it, after side effects may have
/// happened), and nesting past a depth. Syntax itself is left to the decoder.
public enum JSONScreen {
    public enum Problem: Error, Equatable {
        case duplicateKey(String)
        case nulCharacter
        case tooDeep(limit: Int)
        case malformed
    }

    public static let maximumDepth = 32

    /// Throws the first problem found in `body`.
    public static func check(_ body: [UInt8]) throws(Problem) {
        var scanner = Scanner(bytes: body)
        scanner.skipSpace()
        if scanner.index == body.count { return }
        try scanner.value(depth: 0)
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func skipSpace() {
            while index < bytes.count, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[index]) { index += 1 }
        }

        mutating func value(depth: Int) throws(Problem) {
            guard depth < JSONScreen.maximumDepth else { throw .tooDeep(limit: JSONScreen.maximumDepth) }
            skipSpace()
            guard index < bytes.count else { throw .malformed }
            switch bytes[index] {
            case UInt8(ascii: "{"): try object(depth: depth)
            case UInt8(ascii: "["): try array(depth: depth)
            case UInt8(ascii: "\""): _ = try string()
            default:
                // A number, true, false or null: its syntax is the decoder's to judge.
                while index < bytes.count, !",]} \t\r\n".utf8.contains(bytes[index]) { index += 1 }
            }
        }

        mutating func object(depth: Int) throws(Problem) {
            index += 1
            var keys = Set<[UInt8]>()
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return
            }
            while true {
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw .malformed }
                let key = try string()
                guard keys.insert(key).inserted else {
                    throw .duplicateKey(String(decoding: key.prefix(64), as: UTF8.self))
                }
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw .malformed }
                index += 1
                try value(depth: depth + 1)
                skipSpace()
                guard index < bytes.count else { throw .malformed }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                guard bytes[index] == UInt8(ascii: "}") else { throw .malformed }
                index += 1
                return
            }
        }

        mutating func array(depth: Int) throws(Problem) {
            index += 1
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return
            }
            while true {
                try value(depth: depth + 1)
                skipSpace()
                guard index < bytes.count else { throw .malformed }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                guard bytes[index] == UInt8(ascii: "]") else { throw .malformed }
                index += 1
                return
            }
        }

        /// A string's content with its escapes resolved, as UTF-8 (the same key spelled two ways
        /// is one key).
        mutating func string() throws(Problem) -> [UInt8] {
            index += 1
            var out: [UInt8] = []
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return out
                case 0x00:
                    throw .nulCharacter
                case UInt8(ascii: "\\"):
                    guard index < bytes.count else { throw .malformed }
                    let escape = bytes[index]
                    index += 1
                    switch escape {
                    case UInt8(ascii: "u"):
                        var scalar = try hex4()
                        if (0xD800...0xDBFF).contains(scalar), index + 1 < bytes.count,
                            bytes[index] == UInt8(ascii: "\\"),
                            bytes[index + 1] == UInt8(ascii: "u")
                        {
                            index += 2
                            let low = try hex4()
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low &- 0xDC00) & 0x3FF
                        }
                        guard scalar != 0 else { throw .nulCharacter }
                        out += Array(String(Unicode.Scalar(scalar).map(Character.init) ?? "\u{FFFD}").utf8)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0c)
                    case UInt8(ascii: "n"): out.append(0x0a)
                    case UInt8(ascii: "r"): out.append(0x0d)
                    case UInt8(ascii: "t"): out.append(0x09)
                    default: out.append(escape)
                    }
                default:
                    out.append(byte)
                }
            }
            throw .malformed
        }

        mutating func hex4() throws(Problem) -> UInt32 {
            guard index + 4 <= bytes.count,
                let value = UInt32(String(decoding: bytes[index..<(index + 4)], as: UTF8.self), radix: 16)
            else { throw .malformed }
            index += 4
            return value
        }
    }
}
