import FastCGI
import Platform
import PlatformHost

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// `GET /v1/internal/vercel/oauth/status`: the caller's Vercel connections, newest first. Tokens
/// never leave the database here: only their expiry.
enum ConnectionStatus {
    struct Body: Encodable {
        let connected: Bool
        let connection: ConnectionStore.Summary?
        let connections: [ConnectionStore.Summary]

        enum CodingKeys: String, CodingKey { case connected, connection, connections }

        // The frontend tells "no connection" by `connection: null`, so nil is written, not left out.
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(connected, forKey: .connected)
            try container.encode(connection, forKey: .connection)
            try container.encode(connections, forKey: .connections)
        }
    }

    @Sendable static func handle(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        let connections = try context.connections.summaries(of: call.caller.userID)
        let active = connections.first { $0.status == "connected" }
        return .json(Body(connected: active != nil, connection: active ?? connections.first, connections: connections))
    }
}
