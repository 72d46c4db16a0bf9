import Postgres
import Vercel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Keeps each connection's breaker in `vercel_connections.circuit_breaker_state`. The version a
/// compare-and-swap names is the stored JSON itself, compared as `jsonb`; one statement each, safe
/// inside or outside a caller's transaction.
public struct PostgresCircuitBreakerStorage: CircuitBreakerStorage {
    let database: PostgresConnection

    public init(database: PostgresConnection) {
        self.database = database
    }

    public func load(_ connection: UUID) throws -> CircuitBreakers.Snapshot? {
        try database.query(
            "SELECT circuit_breaker_state::text AS state FROM vercel_connections WHERE id = \(connection)"
        )
        .first.map { Self.snapshot($0["state"]) }
    }

    public func replace(
        _ connection: UUID, expected: CircuitBreakers.Snapshot, with next: CircuitBreaker.State
    ) throws
        -> CircuitBreakers.Snapshot?
    {
        let text = try Self.encode(next)
        let written = try database.execute(
            """
            UPDATE vercel_connections SET circuit_breaker_state = \(text)::jsonb
            WHERE id = \(connection) AND circuit_breaker_state = \(expected.version)::jsonb
            """)
        return written == 1 ? CircuitBreakers.Snapshot(state: next, version: text) : nil
    }

    /// The snapshot of a stored state's text; an unreadable or missing one counts as closed.
    static func snapshot(_ text: String?) -> CircuitBreakers.Snapshot {
        guard let text else { return CircuitBreakers.Snapshot(state: .closed, version: "null") }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        let state = (try? decoder.decode(CircuitBreaker.State.self, from: Data(text.utf8))) ?? .closed
        return CircuitBreakers.Snapshot(state: state, version: text)
    }

    private static func encode(_ state: CircuitBreaker.State) throws -> String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .millisecondsSince1970
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(state), as: UTF8.self)
    }
}
