import Foundation
import Postgres

/// Applies migrations in order, each in its own transaction, under an advisory lock so two
/// migrators (two hosts starting at once) never interleave. A file already applied is skipped when
/// its checksum matches and refused when it does not.
public struct Migrator {
    public let migrations: [Migration]

    public init(migrations: [Migration]) {
        self.migrations = migrations
    }

    /// What a run did.
    public struct Report: Equatable, Sendable {
        public var applied: [String] = []
        public var alreadyApplied: [String] = []
        /// Applied files newer than every file of the directory: a later release's schema, on which
        /// this one runs (migrations expand before they contract). Nothing to do, nothing refused.
        public var newer: [String] = []
    }

    /// The files a run would apply, in order; applies nothing.
    public func pending(on database: PostgresConnection) throws -> [String] {
        let applied = try Self.applied(on: database) ?? []
        return migrations.map(\.name).filter { !applied.contains($0) }
    }

    /// The names of the files applied to `database`; nil when it has no record of any (no table).
    public static func applied(on database: PostgresConnection) throws -> Set<String>? {
        let present = try database.query("SELECT to_regclass('vercel_schema_migrations') IS NOT NULL AS present")
        guard try present.first?.decode("present", as: Bool.self) == true else { return nil }
        return Set(
            try database.query("SELECT name FROM vercel_schema_migrations").map {
                try $0.decode("name", as: String.self)
            })
    }

    /// Brings `database` up to date.
    /// - Throws: `MigrationError` before applying anything when an applied file changed or is
    ///   missing (one older than the directory's newest: files newer than all of them are a later
    ///   release's, reported in `newer`); the server's error when a file fails (that file is rolled back, earlier ones stay).
    public func run(on database: PostgresConnection) throws -> Report {
        try database.withAdvisoryLock("sheen.vercel.migrate") {
            try database.execute(
                """
                CREATE TABLE IF NOT EXISTS vercel_schema_migrations (
                  name TEXT PRIMARY KEY,
                  checksum TEXT NOT NULL,
                  applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
                )
                """)
            var applied: [String: String] = [:]
            for row in try database.query("SELECT name, checksum FROM vercel_schema_migrations") {
                applied[try row.decode("name")] = try row.decode("checksum", as: String.self)
            }
            let known = Set(migrations.map(\.name))
            let newest = migrations.map(\.name).max() ?? ""
            let unknown = applied.keys.filter { !known.contains($0) }.sorted()
            if let missing = unknown.first(where: { $0 < newest }) {
                throw MigrationError.missingFile(missing)
            }
            for migration in migrations {
                if let checksum = applied[migration.name], checksum != migration.checksum {
                    throw MigrationError.checksumMismatch(migration.name)
                }
            }
            var report = Report(newer: unknown)
            for migration in migrations {
                if applied[migration.name] != nil {
                    report.alreadyApplied.append(migration.name)
                    continue
                }
                try database.transaction {
                    try database.executeScript(migration.sql)
                    try database.execute(
                        "INSERT INTO vercel_schema_migrations (name, checksum) VALUES (\(migration.name), \(migration.checksum))"
                    )
                }
                report.applied.append(migration.name)
            }
            return report
        }
    }
}
