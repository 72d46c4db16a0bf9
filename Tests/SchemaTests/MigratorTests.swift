import Foundation
import Migrator
import Postgres
import TestSupport
import Testing

@Suite struct MigratorTests {
    @Test func everyFileAppliesOnceAndASecondRunIsANoOp() throws {
        let database = try TestDatabase.create(migrated: false)
        defer { database.drop() }
        let migrations = try TestDatabase.migrations()
        #expect(
            migrations.map(\.name).prefix(4) == [
                "000_platform_base.sql", "084_vercel_integration_foundation.sql",
                "085_vercel_integration_enhancements.sql", "086_vercel_integration_advanced.sql",
            ])
        let first = try Migrator(migrations: migrations).run(on: database.connect())
        #expect(first.applied == migrations.map(\.name))
        let second = try Migrator(migrations: migrations).run(on: database.connect())
        #expect(second.applied.isEmpty)
        #expect(second.alreadyApplied == migrations.map(\.name))
        let recorded = try database.connect().query("SELECT name, checksum FROM vercel_schema_migrations ORDER BY name")
        #expect(try recorded.map { try $0.decode("checksum", as: String.self) } == migrations.map(\.checksum))
    }

    @Test func anEditedAppliedFileIsRefusedAndNothingElseIsApplied() throws {
        let database = try TestDatabase.create(migrated: false)
        defer { database.drop() }
        let original = [Migration(name: "001_one.sql", sql: "CREATE TABLE one (id INT);")]
        _ = try Migrator(migrations: original).run(on: database.connect())
        let edited = [
            Migration(name: "001_one.sql", sql: "CREATE TABLE one (id BIGINT);"),
            Migration(name: "002_two.sql", sql: "CREATE TABLE two (id INT);"),
        ]
        #expect(throws: MigrationError.checksumMismatch("001_one.sql")) {
            try Migrator(migrations: edited).run(on: database.connect())
        }
        let two = try database.connect().query("SELECT to_regclass('two')::text AS name")
        #expect(two.first?["name"] == nil)
    }

    @Test func anAppliedFileMissingFromTheDirectoryIsRefused() throws {
        let database = try TestDatabase.create(migrated: false)
        defer { database.drop() }
        _ = try Migrator(migrations: [Migration(name: "001_one.sql", sql: "SELECT 1;")]).run(on: database.connect())
        #expect(throws: MigrationError.missingFile("001_one.sql")) {
            try Migrator(migrations: [Migration(name: "002_two.sql", sql: "SELECT 1;")]).run(on: database.connect())
        }
    }

    @Test func aFailingFileIsRolledBackAndLeavesEarlierFilesApplied() throws {
        let database = try TestDatabase.create(migrated: false)
        defer { database.drop() }
        let migrations = [
            Migration(name: "001_good.sql", sql: "CREATE TABLE good (id INT);"),
            Migration(name: "002_bad.sql", sql: "CREATE TABLE half (id INT); SELECT no_such_function();"),
        ]
        #expect(throws: PostgresError.self) { try Migrator(migrations: migrations).run(on: database.connect()) }
        let rows = try database.connect().query(
            "SELECT to_regclass('good')::text AS good, to_regclass('half')::text AS half, (SELECT count(*) FROM vercel_schema_migrations) AS applied"
        )
        #expect(rows.first?["good"] == "good")
        #expect(rows.first?["half"] == nil)
        #expect(rows.first?["applied"] == "1")
    }

    @Test func concurrentMigratorsApplyEachFileExactlyOnce() async throws {
        let database = try TestDatabase.create(migrated: false)
        defer { database.drop() }
        let migrations = try TestDatabase.migrations()
        let reports = try await withThrowingTaskGroup(of: Migrator.Report.self) { group in
            for _ in 0..<4 {
                group.addTask { try Migrator(migrations: migrations).run(on: database.connect()) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(reports.flatMap(\.applied).sorted() == migrations.map(\.name))
    }

    @Test(arguments: ["1_x.sql", "001-x.sql", "001_X.sql", "001_.sql", "abc_x.sql"])
    func badlyNamedFilesAreRefused(name: String) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data("SELECT 1;".utf8).write(to: directory.appendingPathComponent(name))
        #expect(throws: MigrationError.badName(name)) { try Migration.load(from: directory) }
    }
}
