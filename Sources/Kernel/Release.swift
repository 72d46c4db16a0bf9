#if canImport(Glibc)
import Glibc
#endif

/// What this build is: its release (the repository's `VERSION`) and the newest migration it was
/// built for (the last file of `Migrations/`). Tests hold both to those files.
public enum Release {
    public static let version = "1.1.0"
    /// The schema this build needs: a database on which this file is not applied is too old for it.
    public static let schema = "113_vercel_webhook_one_statement.sql"

    /// `program --version`, the one line every executable prints: its name, version and schema.
    public static func line(program: String) -> String {
        "\(program) \(version) (schema \(schema))"
    }

    /// Answers `--version` when it is the only argument: prints `line(program:)` and exits 0.
    /// Anything else returns, so the executable parses its arguments as usual.
    public static func answerVersion(program: String, arguments: [String] = CommandLine.arguments) {
        guard arguments.count == 2, arguments[1] == "--version" else { return }
        print(line(program: program))
        exit(0)
    }
}
