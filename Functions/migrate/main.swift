import Foundation
import Migrator
import Postgres
import Settings

// vercel-migrate [--dir DIR]: applies Migrations/ to DATABASE_URL. Exit 0 when up to date.

let configuration: MigrateConfiguration
do {
    configuration = try MigrateConfiguration.fromEnvironment()
} catch {
    FileHandle.standardError.write(Data("vercel-migrate: \(error)\n".utf8))
    exit(78)
}
var arguments = CommandLine.arguments.dropFirst()
var directory = configuration.migrationsDirectory
while let argument = arguments.popFirst() {
    guard argument == "--dir", let value = arguments.popFirst() else {
        FileHandle.standardError.write(Data("usage: vercel-migrate [--dir DIR]\n".utf8))
        exit(64)
    }
    directory = value
}

do {
    let migrations = try Migration.load(from: URL(fileURLWithPath: directory, isDirectory: true))
    let database = PostgresConnection(
        .init(url: configuration.databaseURL, statementTimeout: .seconds(300), applicationName: "sheen-vercel-migrate"))
    let report = try Migrator(migrations: migrations).run(on: database)
    for name in report.applied { print("applied \(name)") }
    print("up to date: \(report.applied.count) applied, \(report.alreadyApplied.count) already applied")
} catch {
    FileHandle.standardError.write(Data("vercel-migrate: \(error)\n".utf8))
    exit(1)
}
