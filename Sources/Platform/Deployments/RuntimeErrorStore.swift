import Postgres
import Vercel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The errors among deployments' runtime logs (`vercel_runtime_errors`): written by the runtime log
/// pumps as the lines pass, once per line whichever host saw it, and summed up for a status widget.
public struct RuntimeErrorStore {
    let database: PostgresConnection

    public init(database: PostgresConnection) {
        self.database = database
    }

    /// How far back a summary looks at most, and how many errors it reads.
    public static let lookback: TimeInterval = 86_400
    public static let readLimit = 5000
    static let messageLimit = 1000

    /// Stores the error lines of a deployment; a line stored before (another host's pump) is not
    /// stored again.
    public func record(_ logs: [VercelRuntimeLog], deploymentID: String, projectID: UUID) throws {
        guard !logs.isEmpty else { return }
        let encoder = JSONEncoder()
        // Postgres counts a text's length in code points, so each is cut by code points too (a
        // cut by characters could leave more, and the row would fail its check).
        func cut(_ text: String, _ limit: Int) -> String {
            String(String.UnicodeScalarView(text.unicodeScalars.prefix(limit)))
        }
        let rows = logs.map {
            Row(
                rowId: cut($0.rowId, 255), at: Double($0.timestampInMs) / 1000, level: cut($0.level, 16),
                source: cut($0.source, 32), method: cut($0.requestMethod, 16), path: cut($0.requestPath, 1024),
                status: (0...999).contains($0.responseStatusCode) ? $0.responseStatusCode : nil,
                message: cut($0.message, Self.messageLimit))
        }
        let encoded = String(decoding: try encoder.encode(rows), as: UTF8.self)
        try database.execute(
            """
            INSERT INTO vercel_runtime_errors (deployment_id, project_id, row_id, logged_at, level, source, request_method,
              request_path, status, message)
            SELECT \(deploymentID), \(projectID), r."rowId", to_timestamp(r.at), r.level, r.source, r.method, r.path,
              r.status, r.message
            FROM jsonb_to_recordset(\(encoded)::jsonb) AS r("rowId" text, at float8, level text, source text,
              method text, path text, status int, message text)
            WHERE r."rowId" <> '' AND r.level <> '' AND r.source <> ''
            ON CONFLICT (deployment_id, row_id) DO NOTHING
            """)
    }

    private struct Row: Encodable {
        let rowId: String
        let at: Double
        let level: String
        let source: String
        let method: String
        let path: String
        let status: Int?
        let message: String
    }

    /// What a status widget shows: the errors since `since`, counted by path and status, and the
    /// latest of them.
    public struct Summary: Encodable, Sendable {
        public let since: Date
        public let total: Int
        /// More errors came than a summary reads (`readLimit`): the counts are of the newest.
        public let truncated: Bool
        public let byPath: [PathCount]
        public let latest: [Entry]

        public struct PathCount: Encodable, Sendable {
            public let path: String
            public let status: Int?
            public let count: Int
            public let lastAt: Date
        }

        public struct Entry: Encodable, Sendable {
            public let at: Date
            public let level: String
            public let source: String
            public let method: String
            public let path: String
            public let status: Int?
            public let message: String
        }
    }

    public func summary(deploymentID: String, projectID: UUID, since: Date) throws -> Summary {
        let counted = try database.query(
            """
            WITH recent AS (
              SELECT request_path, status, logged_at FROM vercel_runtime_errors
              WHERE deployment_id = \(deploymentID) AND project_id = \(projectID) AND logged_at >= \(since)
              ORDER BY logged_at DESC, id DESC LIMIT \(Self.readLimit + 1))
            SELECT request_path, status, count(*)::int AS n, max(logged_at) AS last_at,
              (SELECT count(*)::int FROM recent) AS total
            FROM recent GROUP BY request_path, status ORDER BY n DESC, last_at DESC LIMIT 50
            """)
        let total = try counted.first.map { try $0.decode("total", as: Int.self) } ?? 0
        let latest = try database.query(
            """
            SELECT logged_at, level, source, request_method, request_path, status, message FROM vercel_runtime_errors
            WHERE deployment_id = \(deploymentID) AND project_id = \(projectID) AND logged_at >= \(since)
            ORDER BY logged_at DESC, id DESC LIMIT 20
            """)
        return Summary(
            since: since, total: min(total, Self.readLimit), truncated: total > Self.readLimit,
            byPath: try counted.map {
                Summary.PathCount(
                    path: try $0.decode("request_path"), status: try $0.decodeIfPresent("status"),
                    count: try $0.decode("n"), lastAt: try $0.decode("last_at"))
            },
            latest: try latest.map {
                Summary.Entry(
                    at: try $0.decode("logged_at"), level: try $0.decode("level"), source: try $0.decode("source"),
                    method: try $0.decode("request_method"), path: try $0.decode("request_path"),
                    status: try $0.decodeIfPresent("status"), message: try $0.decode("message"))
            })
    }
}

extension WorkerServices {
    public var runtimeErrors: RuntimeErrorStore { RuntimeErrorStore(database: database) }
}

/// Records a runtime log pump's errors on a connection of its own, opened at the first error (most
/// deployments' logs have none) and closed with the pump. Used from the pump's thread only.
public final class RuntimeErrorRecorder {
    private let configuration: PostgresConnection.Configuration
    private var database: PostgresConnection?

    public init(_ settings: ServiceConfiguration) {
        configuration = .init(
            url: settings.databaseURL, statementTimeout: settings.statementTimeout,
            applicationName: "sheen-vercel-runtime-logs")
    }

    public func record(_ logs: [VercelRuntimeLog], deploymentID: String, projectID: UUID) throws {
        let connection = database ?? PostgresConnection(configuration)
        database = connection
        try RuntimeErrorStore(database: connection).record(logs, deploymentID: deploymentID, projectID: projectID)
    }

    public func close() {
        database?.close()
        database = nil
    }
}
