import Crypto
import Foundation
import Migrator
import Postgres

/// A database of its own for one test, on the test cluster, dropped by `drop()`.
public struct TestDatabase: Sendable {
    public let name: String
    public let url: String

    /// Creates an empty database; with `migrated`, applies `Migrations/` to it.
    public static func create(migrated: Bool = true) throws -> TestDatabase {
        let admin = PostgresConnection(.init(url: try TestEnvironment.require("TEST_ADMIN_DATABASE_URL")))
        let name = "t_" + Hex.encode(try SecureRandom.bytes(8))
        // A generated identifier of hex digits: the one statement here that cannot take a bind value.
        try admin.executeScript("CREATE DATABASE \(name)")
        let base = try TestEnvironment.require("TEST_ADMIN_DATABASE_URL")
        let url = String(base[..<base.lastIndex(of: "/")!]) + "/" + name
        let database = TestDatabase(name: name, url: url)
        if migrated { _ = try Migrator(migrations: try migrations()).run(on: database.connect()) }
        return database
    }

    /// The project's migrations.
    public static func migrations() throws -> [Migration] {
        try Migration.load(from: URL(fileURLWithPath: try TestEnvironment.require("TEST_MIGRATIONS_DIR")))
    }

    /// A new connection to this database.
    public func connect() -> PostgresConnection {
        PostgresConnection(.init(url: url, statementTimeout: .seconds(30)))
    }

    public func drop() {
        guard let admin = try? PostgresConnection(.init(url: TestEnvironment.require("TEST_ADMIN_DATABASE_URL"))) else {
            return
        }
        _ = try? admin.executeScript("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }
}
