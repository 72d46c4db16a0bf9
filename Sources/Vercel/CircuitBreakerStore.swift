#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Postgres

/// Keeps each connection's breaker in `vercel_connections.circuit_breaker_state`, so every process
/// on every host sees the same state. Updates are compare-and-swap on the stored JSON (one
/// statement, safe inside or outside a caller's transaction), retried when another writer won.
public struct CircuitBreakerStore {
    public let breaker: CircuitBreaker
    private let database: PostgresConnection

    public init(breaker: CircuitBreaker, database: PostgresConnection) {
        self.breaker = breaker
        self.database = database
    }

    /// Whether a call for `connection` may go now.
    public func admit(_ connection: UUID, now: Date = Date()) throws -> CircuitBreaker.Admission {
        try update(connection) { breaker.admit($0, now: now) }
    }

    /// Records how a call for `connection` ended.
    public func record(_ result: CircuitBreaker.Result, for connection: UUID, now: Date = Date()) throws {
        guard result != .neutral else { return }
        try update(connection) { ((), breaker.record(result, $0, now: now)) }
    }

    /// The stored state of `connection` (closed when the connection is unknown).
    public func state(of connection: UUID) throws -> CircuitBreaker.State {
        try read(connection)?.state ?? .closed
    }

    private func update<T>(_ connection: UUID, _ transition: (CircuitBreaker.State) -> (T, CircuitBreaker.State)) throws -> T {
        for _ in 0..<10 {
            guard let (text, state) = try read(connection) else { return transition(.closed).0 }
            let (value, next) = transition(state)
            if next == state { return value }
            let written = try database.execute(
                """
                UPDATE vercel_connections SET circuit_breaker_state = \(try Self.encode(next))::jsonb
                WHERE id = \(connection) AND circuit_breaker_state = \(text)::jsonb
                """)
            if written == 1 { return value }
        }
        throw PostgresError.server(sqlState: "40001", message: "circuit breaker state kept changing", constraint: nil)
    }

    private func read(_ connection: UUID) throws -> (text: String, state: CircuitBreaker.State)? {
        guard let row = try database.query(
            "SELECT circuit_breaker_state::text AS state FROM vercel_connections WHERE id = \(connection)").first,
            let text = row["state"]
        else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        let state = (try? decoder.decode(CircuitBreaker.State.self, from: Data(text.utf8))) ?? .closed
        return (text, state)
    }

    private static func encode(_ state: CircuitBreaker.State) throws -> String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .millisecondsSince1970
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(state), as: UTF8.self)
    }
}
