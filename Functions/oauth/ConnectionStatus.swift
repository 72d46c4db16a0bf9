import FastCGI
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Platform
import Postgres

/// `GET /v1/internal/vercel/oauth/status`: the caller's Vercel connections, newest first. Tokens
/// never leave the database here: only their expiry.
enum ConnectionStatus {
    struct Body: Encodable {
        let connected: Bool
        let connection: Connection?
        let connections: [Connection]

        enum CodingKeys: String, CodingKey { case connected, connection, connections }

        // The frontend tells "no connection" by `connection: null`, so nil is written, not left out.
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(connected, forKey: .connected)
            try container.encode(connection, forKey: .connection)
            try container.encode(connections, forKey: .connections)
        }
    }

    struct Connection: Encodable {
        let id: String
        let teamId: String?
        let teamName: String?
        let accountType: String
        let scopes: [String]
        let status: String
        let tokenExpiresAt: Date?
        let lastSyncAt: Date?

        enum CodingKeys: String, CodingKey {
            case id, teamId, teamName, accountType, scopes, status, tokenExpiresAt, lastSyncAt
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(teamId, forKey: .teamId)
            try container.encode(teamName, forKey: .teamName)
            try container.encode(accountType, forKey: .accountType)
            try container.encode(scopes, forKey: .scopes)
            try container.encode(status, forKey: .status)
            try container.encode(tokenExpiresAt, forKey: .tokenExpiresAt)
            try container.encode(lastSyncAt, forKey: .lastSyncAt)
        }
    }

    @Sendable static func handle(_ request: Request, _ context: RequestContext, _ caller: PlatformCaller) throws -> Response {
        let rows = try context.database.query(
            """
            SELECT id, team_id, team_name, account_type, array_to_json(granted_scopes)::text AS scopes, status::text AS status,
                   token_expires_at, last_sync_at
            FROM vercel_connections
            WHERE user_id = \(caller.userID) AND status <> 'disconnected'
            ORDER BY updated_at DESC
            LIMIT 50
            """)
        let connections = try rows.map { row in
            Connection(
                id: try row.decode("id"), teamId: row["team_id"], teamName: row["team_name"],
                accountType: try row.decode("account_type"),
                scopes: try JSONDecoder().decode([String].self, from: Data((try row.decode("scopes", as: String.self)).utf8)),
                status: try row.decode("status"), tokenExpiresAt: try row.decodeIfPresent("token_expires_at"),
                lastSyncAt: try row.decodeIfPresent("last_sync_at"))
        }
        let active = connections.first { $0.status == "connected" }
        return .json(Body(connected: active != nil, connection: active ?? connections.first, connections: connections))
    }
}
