import Foundation

/// What `scripts/dev test` exports for the tests that need the running stack or its Postgres.
public enum TestEnvironment {
    public struct Missing: Error, CustomStringConvertible {
        public let name: String
        public init(name: String) { self.name = name }
        public var description: String { "\(name) is not set: run these tests with scripts/dev test" }
    }

    /// The value of `name`.
    /// - Throws: `Missing` with a hint, so a bare `swift test` fails saying what to run instead.
    public static func require(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { throw Missing(name: name) }
        return value
    }

    /// The stack's generated configuration (`.local/test.env`), read from its file.
    /// (A cluster's tests name theirs in `TEST_ENV_FILE`.)
    public static func stackConfiguration() throws -> [String: String] {
        let logDir = try require("TEST_LOG_DIR")
        let file =
            ProcessInfo.processInfo.environment["TEST_ENV_FILE"].map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: logDir).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("test.env")
        var values: [String: String] = [:]
        for line in try String(contentsOf: file, encoding: .utf8).split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { values[String(parts[0])] = String(parts[1]) }
        }
        return values
    }
}
