import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A custom domain as the service accepts it: lowercase, without a trailing dot, Unicode names in
/// their ASCII (punycode) form through libidn2 (UTS #46, non-transitional), labels of 1 to 63
/// letters, digits and inner hyphens, 253 characters in all, never an IP address (in any notation
/// a browser reads as one: `127.1`, `0x7f.0.0.1`, `[::1]`) nor a name whose last label is a number,
/// never a special-use name (`.localhost`, `.local`, `.test`, `.onion`, `.internal`, `home.arpa` …),
/// a wildcard only as a leading `*.`, and never a public suffix itself (`co.uk`, `vercel.app`: the
/// Public Suffix List Debian ships).
public struct DomainName: Sendable, Equatable, CustomStringConvertible {
    /// The ASCII form: `shop.example.com`, `xn--bcher-kva.example`, `*.example.com`.
    public let ascii: String

    public var description: String { ascii }

    /// Why a name is refused, in words for the person who typed it.
    public enum Problem: Error, Equatable, CustomStringConvertible {
        case empty
        case tooLong
        case labelEmpty
        case labelTooLong
        case invalidCharacter
        case hyphenAtLabelEdge
        case ipAddress
        case numericLastLabel
        case specialUse(String)
        case misplacedWildcard
        case notInternational(String)
        case singleLabel
        case publicSuffix

        public var description: String {
            switch self {
            case .empty: "the name is empty"
            case .tooLong: "the name is longer than 253 characters"
            case .labelEmpty: "a label is empty (two dots in a row, or a dot at the start)"
            case .labelTooLong: "a label is longer than 63 characters"
            case .invalidCharacter: "labels hold only letters, digits and hyphens"
            case .hyphenAtLabelEdge: "a label may not start or end with a hyphen"
            case .ipAddress: "an IP address (in any notation) is not a domain"
            case .numericLastLabel: "the last label is a number, which browsers read as an IP address"
            case .specialUse(let name):
                "names under .\(name) are special-use (RFC 6761 and its kin): no one can serve them on the internet"
            case .misplacedWildcard: "a wildcard may only be the first label, as *."
            case .notInternational(let reason): "the name is not a valid international domain name (\(reason))"
            case .singleLabel: "a domain needs at least two labels"
            case .publicSuffix: "a public suffix (such as co.uk or vercel.app) cannot be added as a domain"
            }
        }
    }

    /// Parses what a person typed.
    /// - Parameter suffixes: the public suffixes to refuse (Debian's list by default).
    public init(parsing text: String, suffixes: PublicSuffixList? = .debian) throws(Problem) {
        var name = text.trimmingCharacters(in: .whitespaces).lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        guard !name.isEmpty else { throw .empty }
        guard name.utf8.count <= 1024 else { throw .tooLong }
        var wildcard = false
        if name.hasPrefix("*.") {
            wildcard = true
            name.removeFirst(2)
        }
        guard !name.contains("*") else { throw .misplacedWildcard }
        guard !Self.isIPv6(name), !Self.isIPv4(name) else { throw .ipAddress }
        guard !name.contains(":") else { throw .invalidCharacter }
        guard !name.split(separator: ".", omittingEmptySubsequences: false).contains(where: \.isEmpty) else {
            throw .labelEmpty
        }
        // An ASCII name is checked here first, for reasons in words; a Unicode one by libidn2, then here.
        if name.utf8.allSatisfy({ $0 < 0x80 }) { try Self.checkLabels(of: name, wildcard: wildcard) }
        let ascii = try Self.toASCII(name)
        try Self.checkLabels(of: ascii, wildcard: wildcard)
        let labels = ascii.split(separator: ".", omittingEmptySubsequences: false)
        guard !Self.isIPv4(ascii) else { throw .ipAddress }
        if let last = labels.last, Self.number(last) != nil { throw .numericLastLabel }
        guard labels.count >= 2 else { throw .singleLabel }
        if let last = labels.last.map(String.init), Self.specialUse.contains(last) { throw .specialUse(last) }
        if let suffixes, suffixes.isPublicSuffix(ascii) { throw .publicSuffix }
        self.ascii = wildcard ? "*." + ascii : ascii
    }

    private static func checkLabels(of ascii: String, wildcard: Bool) throws(Problem) {
        guard ascii.utf8.count + (wildcard ? 2 : 0) <= 253 else { throw .tooLong }
        for label in ascii.split(separator: ".", omittingEmptySubsequences: false) {
            guard !label.isEmpty else { throw .labelEmpty }
            guard label.utf8.count <= 63 else { throw .labelTooLong }
            let letters = label.utf8.allSatisfy {
                (0x61...0x7a).contains($0) || (0x30...0x39).contains($0) || $0 == UInt8(ascii: "-")
            }
            guard letters else { throw .invalidCharacter }
            guard !label.hasPrefix("-"), !label.hasSuffix("-") else { throw .hyphenAtLabelEdge }
        }
    }

    /// The top-level names no one can serve on the internet: RFC 6761's (`localhost`, `test`,
    /// `invalid`, `example`), mDNS's `local` (RFC 6762), `onion` (RFC 7686), `alt` (RFC 9476),
    /// ICANN's private-use `internal`, `arpa` (with `home.arpa`, RFC 8375) and `localdomain`.
    public static let specialUse: Set<String> = [
        "localhost", "test", "invalid", "example", "local", "onion", "alt", "internal", "arpa", "localdomain",
    ]

    /// An IPv4 address as a browser's URL parser reads one (WHATWG's IPv4 parser): one to four
    /// labels, each a number in decimal, octal (a leading 0) or hexadecimal (`0x`).
    private static func isIPv4(_ name: String) -> Bool {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        return (1...4).contains(parts.count) && parts.allSatisfy { number($0) != nil }
    }

    /// The value of a label that is a number in decimal, octal or hexadecimal; nil otherwise.
    private static func number(_ label: Substring) -> UInt64? {
        let text = label.lowercased()
        if text.hasPrefix("0x") {
            let digits = text.dropFirst(2)
            return digits.isEmpty ? 0 : UInt64(digits, radix: 16)
        }
        guard !text.isEmpty, text.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        if text.count > 1, text.hasPrefix("0") { return UInt64(text.dropFirst(), radix: 8) ?? UInt64.max }
        return UInt64(text) ?? UInt64.max
    }

    /// An IPv6 address, with or without its brackets.
    private static func isIPv6(_ name: String) -> Bool {
        var text = Substring(name)
        if text.hasPrefix("["), text.hasSuffix("]") { text = text.dropFirst().dropLast() }
        guard text.contains(":"), text.utf8.count <= 64 else { return false }
        var address = in6_addr()
        return inet_pton(AF_INET6, String(text), &address) == 1
    }

    private static func toASCII(_ name: String) throws(Problem) -> String {
        switch IDNA.toASCII(name) {
        case .success(let ascii): return ascii
        case .failure(let reason): throw .notInternational(reason.description)
        }
    }
}
