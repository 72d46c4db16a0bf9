/// A failure talking to Postgres. Messages come from the server or libpq and never include bind values
/// that were sent separately, but they may name a column value in a syntax error: log, don't return.
public enum PostgresError: Error, Sendable, CustomStringConvertible {
    /// No connection could be made or kept (server down, restarting, bad URL).
    case connectionFailed(String)
    /// The server refused the statement, with its SQLSTATE (`23505` is a unique violation).
    case server(sqlState: String, message: String, constraint: String?)
    /// A column was NULL or not in the asked type.
    case decoding(column: String, type: String)

    public var sqlState: String? {
        if case .server(let state, _, _) = self { return state }
        return nil
    }

    public var isUniqueViolation: Bool { sqlState == "23505" }
    public var isConnectionFailure: Bool {
        if case .connectionFailed = self { return true }
        // Class 08 is connection exceptions; 57P01-03 are admin shutdown, crash shutdown, cannot connect now.
        return sqlState.map { $0.hasPrefix("08") || $0.hasPrefix("57P") } ?? false
    }

    public var description: String {
        switch self {
        case .connectionFailed(let message): "connection failed: \(message)"
        case .server(let state, let message, let constraint):
            "server error \(state): \(message)" + (constraint.map { " (constraint \($0))" } ?? "")
        case .decoding(let column, let type): "column \(column) is not a \(type)"
        }
    }
}
