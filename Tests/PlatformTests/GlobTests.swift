import Platform
import PlatformHost
import Testing

@Suite struct GlobTests {
    /// The env sync's key filter runs the one glob: no include pattern takes every key, an
    /// exclude pattern wins over an include one, and `*` stops at `/` as it does for branches.
    @Test func theEnvSyncsKeyFilterIsTheBranchGlob() {
        let include = ["NEXT_PUBLIC_*", "API_*"].map(Glob.init)
        let exclude = ["API_SECRET*"].map(Glob.init)
        #expect(EnvSyncService.matches("ANYTHING", include: [], exclude: []))
        #expect(EnvSyncService.matches("NEXT_PUBLIC_URL", include: include, exclude: exclude))
        #expect(!EnvSyncService.matches("DATABASE_URL", include: include, exclude: exclude))
        #expect(!EnvSyncService.matches("API_SECRET_KEY", include: include, exclude: exclude))
        #expect(EnvSyncService.matches("API_URL", include: include, exclude: exclude))
        #expect(!EnvSyncService.matches("API_/X", include: include, exclude: []))
    }

    /// Every form a pattern can take: literal, `*` within a segment, `**` across segments (and `**/`
    /// standing for no segment), `?`, and combinations.
    static let cases: [(pattern: String, text: String, matches: Bool)] = [
        ("main", "main", true),
        ("main", "Main", false),
        ("main", "main2", false),
        ("feature/*", "feature/login", true),
        ("feature/*", "feature/a/b", false),
        ("feature/*", "feature/", true),
        ("feature/*", "features/login", false),
        ("*", "main", true),
        ("*", "", true),
        ("*", "feature/x", false),
        ("**", "feature/x/y", true),
        ("**", "main", true),
        ("***", "a/b", true),
        ("release/**", "release/1.0/hotfix", true),
        ("release/**", "release/1.0", true),
        ("release/**", "release", false),
        ("**/fix", "fix", true),
        ("**/fix", "a/b/fix", true),
        ("**/fix", "/fix", true),
        ("**/fix", "a/b/fixes", false),
        ("**/**/fix", "fix", true),
        ("**/*", "a/b", true),
        ("a/**/b", "a/b", true),
        ("a/**/b", "a/x/y/b", true),
        ("a/**/b", "a/x/y/c", false),
        ("v?", "v1", true),
        ("v?", "v10", false),
        ("v?", "v/", false),
        ("hotfix-?.?", "hotfix-1.2", true),
        ("*-preview", "login-preview", true),
        ("*-preview", "team/login-preview", false),
        ("**-preview", "team/login-preview", true),
        ("dependabot/**", "dependabot/npm_and_yarn/lodash-4.17.21", true),
        ("*.*.*", "1.2.3", true),
        ("*.*.*", "1.2", false),
        // Env keys: no `/`, so `*` is any run.
        ("NEXT_PUBLIC_*", "NEXT_PUBLIC_API_URL", true),
        ("*_URL", "DATABASE_URL", true),
        ("*_URL", "DATABASE_URLS", false),
        ("?B*", "AB", true),
        ("*a*a*a*a*b", String(repeating: "a", count: 80), false),
        ("*a*a*a*a*b", String(repeating: "a", count: 80) + "b", true),
    ]

    @Test(arguments: 0..<cases.count)
    func matches(index: Int) {
        let (pattern, text, expected) = Self.cases[index]
        #expect(Glob(pattern).matches(text) == expected, "\(pattern) ~ \(text)")
    }

    /// The patterns that made a backtracking matcher run for seconds (the `*` of each try every
    /// split of the text) answer at once: each byte of the text moves every state in one step.
    @Test(.timeLimit(.minutes(1)))
    func pathologicalPatternsAnswerWithoutBacktracking() {
        let longest = String(repeating: "*a", count: Glob.maxWildcards) + "b"
        for text in [String(repeating: "a", count: 255), String(repeating: "a/", count: 127)] {
            for pattern in [longest, "*a*a*a*a*b", String(repeating: "**a", count: 32) + "b"] {
                #expect(!Glob(pattern).matches(text), "\(pattern)")
                for _ in 0..<1_000 { _ = Glob(pattern).matches(text) }
            }
        }
        #expect(Glob(longest).matches(String(repeating: "a", count: 254) + "b"))
    }

    /// The linear matcher agrees with the plain backtracking definition on every pattern and
    /// text of up to five bytes over `a`, `/`, `*`, `?` (texts over `a`, `b`, `/`).
    @Test func agreesWithTheBacktrackingDefinition() {
        let patterns = Self.strings(over: ["a", "/", "*", "?"], upTo: 5)
        let texts = Self.strings(over: ["a", "b", "/"], upTo: 5)
        var checked = 0
        for pattern in patterns {
            let glob = Glob(pattern)
            for text in texts {
                let expected = Self.reference(Array(Self.collapsed(pattern).utf8)[...], Array(text.utf8)[...])
                #expect(glob.matches(text) == expected, "\(pattern) ~ \(text)")
                checked += 1
            }
        }
        #expect(checked == patterns.count * texts.count)
        #expect(patterns.count == 1 + 4 + 16 + 64 + 256 + 1024)
    }

    @Test func refusesWhatItDoesNotAccept() {
        for pattern in [
            "main", "feature/*", "!release/**", "v?", String(repeating: "a", count: 255),
            String(repeating: "*a", count: 32),
        ] {
            #expect(Glob.refusal(pattern) == nil, "\(pattern)")
        }
        let refused: [(String, String)] = [
            ("", "1 to 255 bytes"), ("!", "1 to 255 bytes"), ("!!main", "one '!'"), ("with space", "spaces"),
            ("tab\tbranch", "control"), ("[abc]", "'['"), ("a\\b", "'\\'"),
            (String(repeating: "a", count: 256), "1 to 255 bytes"),
            (String(repeating: "*a", count: 33), "at most 32 wildcards"),
            (String(repeating: "?", count: 33), "at most 32 wildcards"),
        ]
        for (pattern, reason) in refused {
            let refusal = Glob.refusal(pattern)
            #expect(refusal?.contains(reason) == true, "\(pattern): \(refusal ?? "accepted")")
        }
        #expect(Glob.refusal("!main", negatable: false) == nil, "a literal ! where lists cannot exclude")
        #expect(Glob.refusal(list: Array(repeating: "a*", count: 50)) == nil)
        #expect(Glob.refusal(list: Array(repeating: "a*", count: 51)) == "at most 50 patterns")
        #expect(
            Glob.refusal(list: ["main", "a b"])
                == "pattern 2: a pattern may not hold spaces, control characters, '[', ']' or '\\'")
    }

    static func strings(over alphabet: [String], upTo length: Int) -> [String] {
        var all = [""]
        var last = [""]
        for _ in 0..<length {
            last = last.flatMap { prefix in alphabet.map { prefix + $0 } }
            all += last
        }
        return all
    }

    /// A run of three or more stars is `**`.
    static func collapsed(_ pattern: String) -> String {
        var result = ""
        var stars = 0
        for character in pattern + "\0" {
            if character == "*" {
                stars += 1
                continue
            }
            result += String(repeating: "*", count: min(stars, 2))
            stars = 0
            if character != "\0" { result.append(character) }
        }
        return result
    }

    /// The definition, by backtracking over every split.
    static func reference(_ pattern: ArraySlice<UInt8>, _ text: ArraySlice<UInt8>) -> Bool {
        let star = UInt8(ascii: "*")
        let slash = UInt8(ascii: "/")
        guard let first = pattern.first else { return text.isEmpty }
        if first == star, pattern.dropFirst().first == star {
            let rest = pattern.dropFirst(2)
            if rest.first == slash, reference(rest.dropFirst(), text) { return true }
            var candidate = text
            while true {
                if reference(rest, candidate) { return true }
                guard !candidate.isEmpty else { return false }
                candidate = candidate.dropFirst()
            }
        }
        if first == star {
            let rest = pattern.dropFirst()
            var candidate = text
            while true {
                if reference(rest, candidate) { return true }
                guard let next = candidate.first, next != slash else { return false }
                candidate = candidate.dropFirst()
            }
        }
        guard let next = text.first else { return false }
        if first == UInt8(ascii: "?") { return next != slash && reference(pattern.dropFirst(), text.dropFirst()) }
        return first == next && reference(pattern.dropFirst(), text.dropFirst())
    }
}
