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
        guard let applied = try Migrator.applied(on: database) else { return .tooOld(needs: schema, newest: nil) }
        return applied.contains(schema) ? .ready : .tooOld(needs: schema, newest: applied.max())
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
