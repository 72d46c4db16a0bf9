import Foundation
import Postgres
import TestSupport
import Testing

/// The libpq wrapper on real Postgres: binds, timeouts, transactions, advisory locks.
@Suite struct PostgresConnectionTests {
    let database: TestDatabase

    init() throws {
        database = try TestDatabase.create(migrated: false)
    }

    @Test func valuesRoundTripAsBindParametersWhateverTheyContain() throws {
        defer { database.drop() }
        let db = database.connect()
        let tricky = "'; DROP TABLE users; -- \"quoted\" \\ back\\slash é 🚀"
        let id = UUID()
        let when = Date(timeIntervalSince1970: 1_790_000_000.123456)
        let row = try db.query(
            """
            SELECT \(tricky)::text AS text, \(id)::uuid AS id, \(when)::timestamptz AS at, \(Int64.max)::bigint AS big,
                   \(true)::boolean AS flag, \(Optional<String>.none)::text AS nothing,
                   \([tricky, "plain", ""])::text[] AS list, array_length(\(["a,b", "{c}"])::text[], 1) AS count
            """)[0]
        #expect(try row.decode("text", as: String.self) == tricky)
        #expect(try row.decode("id", as: UUID.self) == id)
        #expect(abs(try row.decode("at", as: Date.self).timeIntervalSince(when)) < 0.000_001)
        #expect(try row.decode("big", as: Int64.self) == .max)
        #expect(try row.decode("flag", as: Bool.self))
        #expect(try row.decodeIfPresent("nothing", as: String.self) == nil)
        #expect(row["list"] == #"{"'; DROP TABLE users; -- \"quoted\" \\ back\\slash é 🚀",plain,""}"#)
        #expect(row["count"] == "2")
    }

    @Test func aStatementOverItsTimeoutIsCanceled() throws {
        defer { database.drop() }
        let db = PostgresConnection(.init(url: database.url, statementTimeout: .milliseconds(200)))
        do {
            try db.query("SELECT pg_sleep(2)")
            Issue.record("the statement was not canceled")
        } catch let error as PostgresError {
            #expect(error.sqlState == "57014")
        }
        #expect(try db.query("SELECT 1 AS one")[0]["one"] == "1")
    }

    @Test func aThrowingTransactionIsRolledBackAndAReturningOneCommitted() throws {
        defer { database.drop() }
        let db = database.connect()
        try db.execute("CREATE TABLE t (v INT)")
        struct Abort: Error {}
        #expect(throws: Abort.self) {
            try db.transaction {
                try db.execute("INSERT INTO t VALUES (1)")
                throw Abort()
            }
        }
        _ = try db.transaction { try db.execute("INSERT INTO t VALUES (2)") }
        #expect(try db.query("SELECT v FROM t").map { $0["v"] } == ["2"])
    }

    @Test func anAdvisoryLockHeldByOneSessionIsNotFreeForAnother() throws {
        defer { database.drop() }
        let holder = database.connect()
        let other = database.connect()
        let whileHeld = try holder.withAdvisoryLock("sheen.test.lock") {
            (
                try other.withAdvisoryLockIfFree("sheen.test.lock") { 1 },
                try other.withAdvisoryLockIfFree("sheen.test.other") { 2 }
            )
        }
        #expect(whileHeld.0 == nil)
        #expect(whileHeld.1 == 2)
        #expect(try other.withAdvisoryLockIfFree("sheen.test.lock") { 3 } == 3)
    }

    @Test func serverErrorsCarryTheirSQLStateAndConstraint() throws {
        defer { database.drop() }
        let db = database.connect()
        try db.execute("CREATE TABLE u (k TEXT CONSTRAINT u_k_key UNIQUE)")
        try db.execute("INSERT INTO u VALUES (\("x"))")
        do {
            try db.execute("INSERT INTO u VALUES (\("x"))")
            Issue.record("a duplicate was accepted")
        } catch let error as PostgresError {
            #expect(error.isUniqueViolation)
            if case .server(_, _, let constraint) = error { #expect(constraint == "u_k_key") }
        }
    }

    @Test func aConnectionDroppedByTheServerIsReplacedOutsideATransactionButNotInsideOne() throws {
        defer { database.drop() }
        let db = database.connect()
        let admin = database.connect()
        func dropOthers() throws {
            try admin.query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = \(database.name) AND pid <> pg_backend_pid()"
            )
            Thread.sleep(forTimeInterval: 0.2)
        }
        try db.query("SELECT 1 AS one")
        try dropOthers()
        #expect(try db.query("SELECT 1 AS one")[0]["one"] == "1")
        #expect(throws: PostgresError.self) {
            try db.transaction {
                try db.execute("CREATE TABLE lost (v INT)")
                try dropOthers()
                try db.execute("INSERT INTO lost VALUES (1)")
            }
        }
        #expect(try db.query("SELECT to_regclass('lost')::text AS t")[0]["t"] == nil)
    }

    /// A date no timestamp can hold is bound as an infinity, never a trap in the conversion.
    @Test func datesPastTheRepresentableYearsBindAsInfinities() throws {
        defer { database.drop() }
        let db = database.connect()
        let row = try db.query(
            """
            SELECT \(Date(timeIntervalSince1970: 1e13))::timestamptz = 'infinity' AS far,
                   \(Date(timeIntervalSince1970: -1e13))::timestamptz = '-infinity' AS early,
                   \(Date(timeIntervalSince1970: .nan))::timestamptz = 'infinity' AS undefined,
                   \(Date(timeIntervalSince1970: 253_402_300_799))::timestamptz AS last
            """)[0]
        #expect(row["far"] == "t" && row["early"] == "t" && row["undefined"] == "t")
        #expect(row["last"] == "9999-12-31 23:59:59+00")
    }

    @Test func everyStatementIsCounted() throws {
        defer { database.drop() }
        let db = database.connect()
        let before = db.statementCount
        try db.execute("SELECT 1")
        _ = try db.transaction { try db.query("SELECT 2 AS two") }
        #expect(db.statementCount - before == 4)
    }
}
