import Foundation

/// The Public Suffix List (publicsuffix.org), as the `publicsuffix` package installs it: rules,
/// wildcard rules (`*.ck`) and exceptions (`!www.ck`), ICANN and private sections alike (so
/// `vercel.app` counts). Read once per process.
public struct PublicSuffixList: Sendable {
    private let rules: Set<String>
    private let wildcards: Set<String>
    private let exceptions: Set<String>

    public static let debianPath = "/usr/share/publicsuffix/public_suffix_list.dat"

    /// Debian's list, read on first use; nil when the package is not installed.
    public static let debian: PublicSuffixList? = try? PublicSuffixList(contentsOf: debianPath)

    public init(contentsOf path: String) throws {
        try self.init(text: String(contentsOfFile: path, encoding: .utf8))
    }

    public init(text: String) {
        var rules = Set<String>()
        var wildcards = Set<String>()
        var exceptions = Set<String>()
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.split(whereSeparator: \.isWhitespace).first.map(String.init) ?? ""
            guard !line.isEmpty, !line.hasPrefix("//") else { continue }
            // Names are compared in their ASCII form, so Unicode rules are too.
            let lowered = line.lowercased()
            let rule =
                lowered.utf8.allSatisfy { $0 < 0x80 }
                ? lowered
                : (try? IDNA.toASCII(lowered.trimmingCharacters(in: CharacterSet(charactersIn: "!*."))).get()).map {
                    (lowered.hasPrefix("!") ? "!" : lowered.hasPrefix("*.") ? "*." : "") + $0
                } ?? lowered
            if rule.hasPrefix("!") {
                exceptions.insert(String(rule.dropFirst()))
            } else if rule.hasPrefix("*.") {
                wildcards.insert(String(rule.dropFirst(2)))
            } else {
                rules.insert(rule)
            }
        }
        self.rules = rules
        self.wildcards = wildcards
        self.exceptions = exceptions
    }

    /// Whether `name` (ASCII, lowercase) is itself a public suffix: a rule, or one label under a
    /// wildcard rule that no exception names.
    public func isPublicSuffix(_ name: String) -> Bool {
        if rules.contains(name) { return true }
        guard let dot = name.firstIndex(of: ".") else { return false }
        let parent = String(name[name.index(after: dot)...])
        return wildcards.contains(parent) && !exceptions.contains(name)
    }
}
