import Foundation
import Kernel
import Migrator
import Postgres
import Settings

// vercel-migrate [--dir DIR] [--status]: applies Migrations/ to DATABASE_URL; exit 0 when up to
// date. With --status it applies nothing and says what a run would apply: exit 0 when the database
// answered (whatever it lacks), 1 when it did not.

Release.answerVersion(program: "vercel-migrate")
let configuration: MigrateConfiguration
do {
    configuration = try MigrateConfiguration.fromEnvironment()
} catch {
    FileHandle.standardError.write(Data("vercel-migrate: \(error)\n".utf8))
    exit(78)
}
var arguments = CommandLine.arguments.dropFirst()
var directory = configuration.migrationsDirectory
var statusOnly = false
while let argument = arguments.popFirst() {
    if argument == "--status" {
        statusOnly = true
        continue
    }
    guard argument == "--dir", let value = arguments.popFirst() else {
        FileHandle.standardError.write(Data("usage: vercel-migrate [--dir DIR] [--status]\n".utf8))
        exit(64)
    }
    directory = value
}

do {
    let migrations = try Migration.load(from: URL(fileURLWithPath: directory, isDirectory: true))
    let database = PostgresConnection(
        .init(url: configuration.databaseURL, statementTimeout: .seconds(300), applicationName: "sheen-vercel-migrate"))
    if statusOnly {
        let pending = try Migrator(migrations: migrations).pending(on: database)
        print(pending.isEmpty ? "up to date" : "\(pending.count) to apply: \(pending.joined(separator: ", "))")
        exit(0)
    }
    let report = try Migrator(migrations: migrations).run(on: database)
    for name in report.applied { print("applied \(name)") }
    if !report.newer.isEmpty {
        print("the database is ahead of this release (\(report.newer.joined(separator: ", "))): nothing to apply")
    }
    print("up to date: \(report.applied.count) applied, \(report.alreadyApplied.count) already applied")
} catch {
    FileHandle.standardError.write(Data("vercel-migrate: \(error)\n".utf8))
    exit(1)
}
