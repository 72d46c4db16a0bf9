internal import CPostgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// One libpq connection, opened lazily and reopened after the server goes away.
///
/// Not thread-safe, like the `PGconn` under it: each FastCGI worker thread owns one.
public final class PostgresConnection {
    /// How to reach the server and how long a statement may run.
    public struct Configuration: Sendable {
        public var url: String
        public var statementTimeout: Duration
        public var connectTimeoutSeconds: Int
        public var applicationName: String

        public init(
            url: String, statementTimeout: Duration = .seconds(5), connectTimeoutSeconds: Int = 5,
            applicationName: String = "sheen-vercel"
        ) {
            self.url = url
            self.statementTimeout = statementTimeout
            self.connectTimeoutSeconds = connectTimeoutSeconds
            self.applicationName = applicationName
        }
    }

    public let configuration: Configuration
    private var handle: OpaquePointer?
    private var transactionDepth = 0
    /// Statements sent to the server since this connection was made: each is one round trip.
    /// Tests read it before and after a request to hold the request's cost under a ceiling.
    public private(set) var statementCount = 0

    public init(_ configuration: Configuration) {
        self.configuration = configuration
    }

    deinit { close() }

    /// Closes the connection; the next statement opens a new one.
    public func close() {
        if let handle { PQfinish(handle) }
        handle = nil
    }

    /// Runs `sql` and returns its rows.
    @discardableResult
    public func query(_ sql: SQL) throws -> [PostgresRow] {
        try run(sql).rows
    }

    /// Runs `sql` and returns how many rows it changed.
    @discardableResult
    public func execute(_ sql: SQL) throws -> Int {
        try run(sql).affected
    }

    /// Runs a whole script of statements with no parameters, as migrations are. Not for anything that
    /// carries a value: use `query` or `execute` for those.
    public func executeScript(_ script: String) throws {
        let connection = try connected()
        statementCount += 1
        let result = PQexec(connection, script)
        defer { PQclear(result) }
        try check(result, connection)
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        precondition(transactionDepth == 0, "transactions do not nest")
        try execute("BEGIN")
        transactionDepth = 1
        defer { transactionDepth = 0 }
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            _ = try? execute("ROLLBACK")
            throw error
        }
    }

    /// Holds the session advisory lock `name` (hashed to 64 bits) while `body` runs; waits for it.
    public func withAdvisoryLock<T>(_ name: String, _ body: () throws -> T) throws -> T {
        try execute("SELECT pg_advisory_lock(hashtextextended(\(name), 0))")
        defer { _ = try? execute("SELECT pg_advisory_unlock(hashtextextended(\(name), 0))") }
        return try body()
    }

    /// Holds the shared session advisory lock `name` while `body` runs; waits for it (up to the
    /// lock timeout) while another session holds it exclusively. Shared holders do not wait for
    /// each other.
    public func withSharedAdvisoryLock<T>(_ name: String, _ body: () throws -> T) throws -> T {
        try execute("SELECT pg_advisory_lock_shared(hashtextextended(\(name), 0))")
        defer { _ = try? execute("SELECT pg_advisory_unlock_shared(hashtextextended(\(name), 0))") }
        return try body()
    }

    /// Takes the shared session advisory lock `name` unless another session holds it exclusively,
    /// and runs `body`; returns nil without running it otherwise.
    public func withSharedAdvisoryLockIfFree<T>(_ name: String, _ body: () throws -> T) throws -> T? {
        let rows = try query("SELECT pg_try_advisory_lock_shared(hashtextextended(\(name), 0)) AS locked")
        guard try rows.first?.decode("locked", as: Bool.self) == true else { return nil }
        defer { _ = try? execute("SELECT pg_advisory_unlock_shared(hashtextextended(\(name), 0))") }
        return try body()
    }

    /// Takes the session advisory lock `name` if it is free and runs `body`; returns nil without
    /// running it when another session holds the lock.
    public func withAdvisoryLockIfFree<T>(_ name: String, _ body: () throws -> T) throws -> T? {
        let rows = try query("SELECT pg_try_advisory_lock(hashtextextended(\(name), 0)) AS locked")
        guard try rows.first?.decode("locked", as: Bool.self) == true else { return nil }
        defer { _ = try? execute("SELECT pg_advisory_unlock(hashtextextended(\(name), 0))") }
        return try body()
    }

    /// Takes the session advisory lock `name` if it is free and, holding it, the shared one
    /// `shared` (waiting for it, up to the lock timeout, while another session holds it
    /// exclusively), in one statement; runs `body` and releases both in one more. Nil without
    /// running `body` when another session holds `name`.
    public func withAdvisoryLocksIfFree<T>(_ name: String, shared: String, _ body: () throws -> T) throws -> T? {
        let rows: [PostgresRow]
        do {
            rows = try query(
                """
                SELECT CASE WHEN pg_try_advisory_lock(hashtextextended(\(name), 0))
                       THEN (SELECT true FROM pg_advisory_lock_shared(hashtextextended(\(shared), 0)))
                       ELSE false END AS locked
                """)
        } catch {
            // The shared lock's wait failed (a lock timeout) with `name` held: a session lock
            // outlives the failed statement, so it is released here.
            _ = try? execute("SELECT pg_advisory_unlock(hashtextextended(\(name), 0))")
            throw error
        }
        guard try rows.first?.decode("locked", as: Bool.self) == true else { return nil }
        defer {
            _ = try? execute(
                """
                SELECT pg_advisory_unlock_shared(hashtextextended(\(shared), 0)),
                       pg_advisory_unlock(hashtextextended(\(name), 0))
                """)
        }
        return try body()
    }

    /// Takes the transaction advisory lock `name`, released at commit or rollback. Call inside
    /// `transaction`.
    public func lockForTransaction(_ name: String) throws {
        try execute("SELECT pg_advisory_xact_lock(hashtextextended(\(name), 0))")
    }

    // MARK: - libpq

    private struct Outcome {
        var rows: [PostgresRow]
        var affected: Int
    }

    private func run(_ sql: SQL) throws -> Outcome {
        let connection = try connected()
        statementCount += 1
        let values = sql.binds.map { $0.flatMap { strdup($0) } }
        defer { for value in values { free(value) } }
        let result = values.map { $0.map { UnsafePointer<CChar>($0) } }.withUnsafeBufferPointer { pointers in
            PQexecParams(connection, sql.text, Int32(values.count), nil, pointers.baseAddress, nil, nil, 0)
        }
        defer { PQclear(result) }
        try check(result, connection)
        return Outcome(rows: rows(of: result!), affected: Int(String(cString: PQcmdTuples(result))) ?? 0)
    }

    private func rows(of result: OpaquePointer) -> [PostgresRow] {
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        guard rowCount > 0 else { return [] }
        var index: [String: Int] = [:]
        for column in 0..<columnCount {
            index[String(cString: PQfname(result, Int32(column)))] = column
        }
        return (0..<rowCount).map { row in
            PostgresRow(
                columnIndex: index,
                values: (0..<columnCount).map { column in
                    PQgetisnull(result, Int32(row), Int32(column)) == 1
                        ? nil : String(cString: PQgetvalue(result, Int32(row), Int32(column)))
                })
        }
    }

    private func check(_ result: OpaquePointer?, _ connection: OpaquePointer) throws {
        guard let result else {
            throw PostgresError.connectionFailed(Self.message(connection))
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return
        default:
            if PQstatus(connection) != CONNECTION_OK {
                throw PostgresError.connectionFailed(Self.message(connection))
            }
            throw PostgresError.server(
                sqlState: Self.field(result, "C") ?? "XX000",
                message: Self.field(result, "M") ?? "unknown error",
                constraint: Self.field(result, "n"))
        }
    }

    /// The live connection, opening it first when needed. A connection the server has dropped
    /// (restart, termination) is noticed before anything is sent on it, by reading what the server
    /// said meanwhile, and replaced, except inside a transaction, whose work died with it.
    private func connected() throws -> OpaquePointer {
        if let handle {
            if !Self.isDropped(handle) { return handle }
            let message = Self.message(handle)
            close()
            if transactionDepth > 0 { throw PostgresError.connectionFailed("lost inside a transaction: \(message)") }
        }
        let keywords = ["dbname", "connect_timeout", "application_name", "options"]
        let timeoutMs =
            configuration.statementTimeout.components.seconds * 1000
            + configuration.statementTimeout.components.attoseconds / 1_000_000_000_000_000
        let values = [
            configuration.url, String(configuration.connectTimeoutSeconds), configuration.applicationName,
            "-c statement_timeout=\(timeoutMs) -c TimeZone=UTC -c DateStyle=ISO,MDY -c lock_timeout=\(timeoutMs) -c client_min_messages=warning",
        ]
        let keywordPointers = keywords.map { strdup($0) } + [nil]
        let valuePointers = values.map { strdup($0) } + [nil]
        defer {
            for pointer in keywordPointers { free(pointer) }
            for pointer in valuePointers { free(pointer) }
        }
        let connection = keywordPointers.map { $0.map { UnsafePointer<CChar>($0) } }.withUnsafeBufferPointer { k in
            valuePointers.map { $0.map { UnsafePointer<CChar>($0) } }.withUnsafeBufferPointer { v in
                PQconnectdbParams(k.baseAddress, v.baseAddress, 1)
            }
        }
        guard let connection else { throw PostgresError.connectionFailed("out of memory") }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = Self.message(connection)
            PQfinish(connection)
            throw PostgresError.connectionFailed(message)
        }
        handle = connection
        return connection
    }

    /// Whether the server has closed `handle`'s socket or the connection is otherwise unusable.
    /// A zero-timeout poll: the peer's hang-up shows as POLLRDHUP even while its last message
    /// ("terminating connection ...") is still unread.
    private static func isDropped(_ handle: OpaquePointer) -> Bool {
        guard PQstatus(handle) == CONNECTION_OK else { return true }
        let socket = PQsocket(handle)
        guard socket >= 0 else { return true }
        let peerHangUp: Int16 = 0x2000  // POLLRDHUP, which Glibc's module does not export.
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN) | peerHangUp, revents: 0)
        guard poll(&descriptor, 1, 0) >= 0 else { return true }
        if descriptor.revents & (peerHangUp | Int16(POLLHUP) | Int16(POLLERR) | Int16(POLLNVAL)) != 0 { return true }
        if descriptor.revents & Int16(POLLIN) != 0 {
            return PQconsumeInput(handle) == 0 || PQstatus(handle) != CONNECTION_OK
        }
        return false
    }

    private static func message(_ connection: OpaquePointer) -> String {
        let text = String(cString: PQerrorMessage(connection))
        return String(text.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }

    private static func field(_ result: OpaquePointer, _ code: Unicode.Scalar) -> String? {
        PQresultErrorField(result, Int32(UInt8(ascii: code))).map { String(cString: $0) }
    }
}
