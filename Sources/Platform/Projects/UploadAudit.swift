/// Which files of an upload a build does not need: tests, CI configuration, coverage reports, logs,
/// archives and database dumps, editor and OS leftovers. Conservative on purpose: documentation,
/// media and source maps may be part of a site, so they are never counted. What it finds becomes
/// `.vercelignore` patterns in the `unneeded_uploads` recommendation.
public enum UploadAudit {
    public enum Category: String, Sendable, CaseIterable, Codable {
        case tests
        case ci
        case coverage
        case logs
        case archives
        case editor

        /// The `.vercelignore` lines that leave the category out.
        public var ignorePatterns: [String] {
            switch self {
            case .tests: ["**/__tests__", "**/test", "**/tests", "**/e2e", "**/cypress", "**/*.test.*", "**/*.spec.*"]
            case .ci: [".github", ".gitlab-ci.yml", ".circleci", ".travis.yml", "azure-pipelines.yml"]
            case .coverage: ["coverage", ".nyc_output"]
            case .logs: ["*.log"]
            case .archives: ["*.zip", "*.tar", "*.tar.gz", "*.tgz", "*.7z", "*.sql", "*.sqlite", "*.dump"]
            case .editor: [".idea", ".vscode", "Thumbs.db", "*.orig", "*.bak"]
            }
        }
    }

    /// The category of the file at `path` (relative, `/`-separated), or nil when a build may need it.
    public static func category(of path: String) -> Category? {
        let segments = path.split(separator: "/").map { $0.lowercased() }
        guard let name = segments.last else { return nil }
        let folders = segments.dropLast()
        if folders.contains(where: { ["__tests__", "test", "tests", "e2e", "cypress"].contains($0) })
            || name.contains(".test.") || name.contains(".spec.")
        {
            return .tests
        }
        if folders.first == ".github" || folders.first == ".circleci"
            || [".gitlab-ci.yml", ".travis.yml", "azure-pipelines.yml"].contains(name) && folders.isEmpty
        {
            return .ci
        }
        if folders.first == "coverage" || folders.first == ".nyc_output" { return .coverage }
        if name.hasSuffix(".log") { return .logs }
        if [".zip", ".tar", ".tar.gz", ".tgz", ".7z", ".sql", ".sqlite", ".dump"].contains(where: { name.hasSuffix($0) }
        ) {
            return .archives
        }
        if folders.contains(where: { $0 == ".idea" || $0 == ".vscode" }) || name == "thumbs.db"
            || name.hasSuffix(".orig") || name.hasSuffix(".bak")
        {
            return .editor
        }
        return nil
    }

    /// What one upload carried, and the part of it no build needs.
    public struct Summary: Codable, Sendable, Equatable {
        public var files = 0
        public var bytes = 0
        public var unneededFiles = 0
        public var unneededBytes = 0
        /// Bytes per category with any.
        public var byCategory: [String: Int] = [:]
        /// Up to 10 of the largest unneeded files.
        public var examples: [String] = []

        public init() {}
    }

    public static func summarize(_ files: [(path: String, size: Int)]) -> Summary {
        var summary = Summary()
        var unneeded: [(path: String, size: Int)] = []
        for file in files {
            summary.files += 1
            summary.bytes += file.size
            guard let category = category(of: file.path) else { continue }
            summary.unneededFiles += 1
            summary.unneededBytes += file.size
            summary.byCategory[category.rawValue, default: 0] += file.size
            unneeded.append(file)
        }
        summary.examples = unneeded.sorted { ($1.size, $0.path) < ($0.size, $1.path) }.prefix(10).map(\.path)
        return summary
    }
}
