import Kernel
import Postgres

/// Whether a database's schema is new enough for this build, asked once when a function or a job
/// starts: code never runs on a schema older than the one it was built for. A newer schema is
/// fine (migrations are written expand-then-contract, so the previous release runs on it).
public enum SchemaGate {
    public enum Verdict: Equatable, Sendable {
        case ready
        /// `needs` is not applied; `newest` is the newest file that is (nil: none, or no table).
        case tooOld(needs: String, newest: String?)
    }

    public static func check(_ database: PostgresConnection, needs schema: String = Release.schema) throws -> Verdict {
        let rows = try database.query(
            """
            SELECT to_regclass('vercel_schema_migrations') IS NOT NULL AS present
            """)
        guard let present = try rows.first?.decode("present", as: Bool.self), present else {
            return .tooOld(needs: schema, newest: nil)
        }
        let state = try database.query(
            """
            SELECT max(name) AS newest, coalesce(bool_or(name = \(schema)), false) AS applied
            FROM vercel_schema_migrations
            """)
        guard let row = state.first else { return .tooOld(needs: schema, newest: nil) }
        if try row.decode("applied", as: Bool.self) { return .ready }
        return .tooOld(needs: schema, newest: try row.decodeIfPresent("newest", as: String.self))
    }
}

extension SchemaGate.Verdict: CustomStringConvertible {
    public var description: String {
        switch self {
        case .ready: "the schema is ready"
        case .tooOld(let needs, let newest):
            "the database's schema is older than this build: it needs \(needs), the newest applied is "
                + "\(newest ?? "none"); run vercel-migrate first"
        }
    }
}
