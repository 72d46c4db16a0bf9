import Foundation
import Kernel
import Migrator
import Postgres
import TestSupport
import Testing

/// What a build says it is, and the gate that keeps it off a schema older than the one it needs.
@Suite struct ReleaseTests {
    var source: URL {
        get throws {
            URL(fileURLWithPath: try TestEnvironment.require("TEST_MIGRATIONS_DIR")).deletingLastPathComponent()
        }
    }

    @Test func theVersionIsTheRepositorysAndTheSchemaIsTheNewestMigration() throws {
        let version = try String(contentsOf: try source.appendingPathComponent("VERSION"), encoding: .utf8)
        #expect(Release.version == version.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(Release.schema == (try TestDatabase.migrations()).last?.name)
        // The release being built is newer than every release already cut.
        let releases = try String(contentsOf: try source.appendingPathComponent("RELEASES"), encoding: .utf8)
            .split(separator: "\n").filter { !$0.hasPrefix("#") }.map { $0.split(separator: " ") }
        #expect(!releases.isEmpty && releases.allSatisfy { $0.count == 2 && $0[1].count == 40 })
        let cut = releases.map { $0[0].split(separator: ".").compactMap { Int($0) } }
        let building = Release.version.split(separator: ".").compactMap { Int($0) }
        #expect(cut.allSatisfy { $0.lexicographicallyPrecedes(building) })
    }

    @Test func aFullyMigratedDatabaseIsReady() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        #expect(try SchemaGate.check(database.connect()) == .ready)
    }

    @Test func aDatabaseWithoutTheNewestFileOrWithoutAnyIsTooOld() throws {
        let database = try TestDatabase.create(migrated: false)
        defer { database.drop() }
        #expect(try SchemaGate.check(database.connect()) == .tooOld(needs: Release.schema, newest: nil))
        let older = Array(try TestDatabase.migrations().dropLast())
        _ = try Migrator(migrations: older).run(on: database.connect())
        let verdict = try SchemaGate.check(database.connect())
        #expect(verdict == .tooOld(needs: Release.schema, newest: older.last?.name))
        #expect("\(verdict)".contains("run vercel-migrate"))
    }

    /// The previous release's migrator on this release's schema: the files it does not know are all
    /// newer than its own, so it reports them and applies nothing; a gap below its newest is refused.
    @Test func anOlderMigratorOnANewerSchemaAppliesNothingAndRefusesNothing() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let all = try TestDatabase.migrations()
        let report = try Migrator(migrations: Array(all.dropLast(2))).run(on: database.connect())
        #expect(report.applied.isEmpty)
        #expect(report.newer == all.suffix(2).map(\.name))
        var gap = all
        gap.remove(at: gap.count - 3)
        #expect(throws: MigrationError.missingFile(all[all.count - 3].name)) {
            try Migrator(migrations: gap).run(on: database.connect())
        }
    }
}

extension ReleaseTests {
    @Test func pendingNamesWhatARunWouldApplyAndAppliesNothing() throws {
        let database = try TestDatabase.create(migrated: false)
        defer { database.drop() }
        let all = try TestDatabase.migrations()
        #expect(try Migrator(migrations: all).pending(on: database.connect()) == all.map(\.name))
        _ = try Migrator(migrations: Array(all.dropLast())).run(on: database.connect())
        #expect(try Migrator(migrations: all).pending(on: database.connect()) == [all.last!.name])
        #expect(try Migrator(migrations: all).pending(on: database.connect()) == [all.last!.name])
    }
}
