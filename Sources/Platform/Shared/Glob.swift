/// The one glob of the service, for branch names and env keys: `*` matches within one path segment
/// (never `/`), `**` (any run of two or more stars) matches across segments, and `**/` also matches
/// no segment at all (so `**/fix` matches `fix`); `?` matches one character other than `/`;
/// everything else matches itself. Env keys hold no `/`, so there `*` is any run of characters.
///
/// Matching never backtracks: the pattern is compiled to a set of positions and each byte of the
/// text moves the whole set at once (a few word operations), so a match costs time linear in the
/// text, whatever the pattern. A pattern is at most `maxBytes` bytes and `maxWildcards` wildcards.
public struct Glob: Sendable, Equatable {
    public let pattern: String
    private let program: Program

    public init(_ pattern: String) {
        self.pattern = pattern
        self.program = Program(Array(pattern.utf8.prefix(Self.maxBytes)))
    }

    public static func == (lhs: Glob, rhs: Glob) -> Bool { lhs.pattern == rhs.pattern }

    /// The longest pattern accepted, in bytes.
    public static let maxBytes = 255
    /// The most wildcards (`*`, `**`, `?`) one pattern may hold.
    public static let maxWildcards = 32

    /// Why `pattern` is not one this service accepts, or nil when it is: 1 to `maxBytes` bytes, at
    /// most `maxWildcards` wildcards, no space, control character, or glob syntax it does not have
    /// (`[`, `]`, `\`), and not empty after a `!` (which, where a list allows it, excludes).
    public static func refusal(_ pattern: String, negatable: Bool = true) -> String? {
        let negated = negatable && pattern.hasPrefix("!")
        let body = negated ? pattern.utf8.dropFirst() : pattern.utf8[...]
        guard (1...maxBytes).contains(pattern.utf8.count), !body.isEmpty else {
            return "a pattern is 1 to \(maxBytes) bytes"
        }
        if negated, body.first == UInt8(ascii: "!") { return "a pattern may start with one '!' at most" }
        guard body.allSatisfy({ $0 > 0x20 && $0 != 0x7f && $0 != 0x5b && $0 != 0x5d && $0 != 0x5c }) else {
            return "a pattern may not hold spaces, control characters, '[', ']' or '\\'"
        }
        guard Program(Array(body)).wildcards <= maxWildcards else {
            return "a pattern may hold at most \(maxWildcards) wildcards"
        }
        return nil
    }

    public static func isValid(_ pattern: String) -> Bool { refusal(pattern) == nil }

    public func matches(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { program.matches($0) }
    }
}

extension Glob {
    /// The compiled pattern: one state per token (a literal byte, `?`, `*`, `**`, and the opening
    /// of a `**/`), plus the accepting state after the last, each a bit of a 256-bit set. A token
    /// is at least one byte of the pattern, so 255 bytes need at most 256 states.
    fileprivate struct Program: Sendable {
        /// States that move on when the byte is this literal (by the byte's class, see `classes`).
        private var literal: [Bits]
        /// The class of each byte: 0 for a byte the pattern never names, else its index in `literal`.
        private var classes: [UInt8]
        private var one = Bits()
        private var star = Bits()
        private var globstar = Bits()
        /// The states that open a `**/`, reading nothing: on to its `**`, or past the whole of it
        /// (standing for no segment). Only before the `**` reads anything may the `/` be skipped.
        private var entry = Bits()
        private let accepting: Int
        let wildcards: Int

        init(_ pattern: [UInt8]) {
            classes = [UInt8](repeating: 0, count: 256)
            literal = [Bits()]
            var state = 0
            var wildcards = 0
            var index = 0
            while index < pattern.count {
                let byte = pattern[index]
                if byte == UInt8(ascii: "*") {
                    var run = 0
                    while index < pattern.count, pattern[index] == UInt8(ascii: "*") {
                        run += 1
                        index += 1
                    }
                    wildcards += 1
                    if run == 1 {
                        star.insert(state)
                    } else {
                        if index < pattern.count, pattern[index] == UInt8(ascii: "/") {
                            entry.insert(state)
                            state += 1
                        }
                        globstar.insert(state)
                    }
                    state += 1
                    continue
                }
                if byte == UInt8(ascii: "?") {
                    wildcards += 1
                    one.insert(state)
                } else {
                    if classes[Int(byte)] == 0 {
                        classes[Int(byte)] = UInt8(literal.count)
                        literal.append(Bits())
                    }
                    literal[Int(classes[Int(byte)])].insert(state)
                }
                state += 1
                index += 1
            }
            accepting = state
            self.wildcards = wildcards
        }

        /// The states reachable from `states` without reading a byte: past a star (matching
        /// nothing), and from the opening of a `**/` to its `**` or past the whole of it.
        private func closure(_ states: Bits) -> Bits {
            let passable = star.union(globstar).union(entry)
            var current = states
            while true {
                let next = current.union(current.intersection(passable).shifted(by: 1))
                    .union(current.intersection(entry).shifted(by: 3))
                if next == current { return current }
                current = next
            }
        }

        func matches(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
            var states = closure(Bits(single: 0))
            let slash = UInt8(ascii: "/")
            for byte in text {
                let notSlash = byte != slash
                var advancing = literal[Int(classes[Int(byte)])]
                if notSlash { advancing = advancing.union(one) }
                let staying = notSlash ? star.union(globstar) : globstar
                states = closure(
                    states.intersection(advancing).shifted(by: 1).union(states.intersection(staying)))
                if states.isEmpty { return false }
            }
            return states.contains(accepting)
        }
    }

    /// A set of states 0 to 255.
    fileprivate struct Bits: Sendable, Equatable {
        private var w0: UInt64 = 0
        private var w1: UInt64 = 0
        private var w2: UInt64 = 0
        private var w3: UInt64 = 0

        init() {}

        init(single state: Int) { insert(state) }

        var isEmpty: Bool { (w0 | w1 | w2 | w3) == 0 }

        mutating func insert(_ state: Int) {
            precondition((0..<256).contains(state), "a glob has at most 256 states")
            let bit = UInt64(1) << UInt64(state & 63)
            switch state >> 6 {
            case 0: w0 |= bit
            case 1: w1 |= bit
            case 2: w2 |= bit
            default: w3 |= bit
            }
        }

        func contains(_ state: Int) -> Bool {
            guard (0..<256).contains(state) else { return false }
            let word = [w0, w1, w2, w3][state >> 6]
            return word & (UInt64(1) << UInt64(state & 63)) != 0
        }

        func union(_ other: Bits) -> Bits {
            var bits = self
            bits.w0 |= other.w0
            bits.w1 |= other.w1
            bits.w2 |= other.w2
            bits.w3 |= other.w3
            return bits
        }

        func intersection(_ other: Bits) -> Bits {
            var bits = self
            bits.w0 &= other.w0
            bits.w1 &= other.w1
            bits.w2 &= other.w2
            bits.w3 &= other.w3
            return bits
        }

        /// Each state moved `count` (1 to 63) higher; those past 255 fall off.
        func shifted(by count: UInt64) -> Bits {
            var bits = Bits()
            let back = 64 - count
            bits.w0 = w0 << count
            bits.w1 = (w1 << count) | (w0 >> back)
            bits.w2 = (w2 << count) | (w1 >> back)
            bits.w3 = (w3 << count) | (w2 >> back)
            return bits
        }
    }
}

extension Glob {
    /// The most patterns one list (a link's branch patterns, an env sync's includes or excludes)
    /// may hold.
    public static let maxListCount = 50

    /// Why `patterns` is not a list this service accepts (the first refused pattern, named), or nil.
    public static func refusal(list patterns: [String], negatable: Bool = true) -> String? {
        guard patterns.count <= maxListCount else { return "at most \(maxListCount) patterns" }
        for (index, pattern) in patterns.enumerated() {
            if let reason = refusal(pattern, negatable: negatable) { return "pattern \(index + 1): \(reason)" }
        }
        return nil
    }
}
