#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import FastCGI
import Platform
import Vercel

/// `POST /v1/internal/vercel/oauth/disconnect`: revokes the tokens at Vercel (best effort: a
/// failure is logged with its reason, and the tokens are forgotten all the same), wipes them, and
/// marks the connection `disconnected`.
enum Disconnect {
    struct Body: Decodable {
        let userId: String
        let connectionId: String?
    }

    @Sendable static func handle(_ request: Request, _ context: RequestContext, _ caller: PlatformCaller) throws -> Response {
        let body = try request.decodeJSON(Body.self)
        let wanted = try body.connectionId.map { text -> UUID in
            guard let id = UUID(uuidString: text) else { throw HTTPError.badRequest("connectionId must be a UUID", code: "INVALID_CONNECTION_ID") }
            return id
        }
        let store = ConnectionStore(database: context.database, keyRing: context.configuration.keyRing)
        guard let connection = try store.find(userID: caller.userID, connectionID: wanted) else {
            throw HTTPError.notFound("No Vercel connection", code: "CONNECTION_NOT_FOUND")
        }
        if let tokens = try store.tokens(of: connection) {
            TokenRevocation.revoke([tokens.refresh, tokens.access], with: try context.vercel().oauth, logger: request.logger)
        }
        try store.disconnect(connection, correlationID: request.requestID)
        try SecurityAudit.record(
            "VERCEL_DISCONNECTED", severity: "MEDIUM", actor: caller, connectionID: connection.uuidString.lowercased(),
            correlationID: request.requestID, database: context.database)
        return .json(JSONValue.object(["disconnected": true]))
    }
}
