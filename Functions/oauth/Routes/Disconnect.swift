import FastCGI
import Platform
import Vercel

/// `POST /v1/internal/vercel/oauth/disconnect`: revokes the tokens at Vercel (best effort: a
/// failure is logged with its reason, and the tokens are forgotten all the same), wipes them, and
/// marks the connection `disconnected`.
enum Disconnect {
    struct Disconnected: Encodable {
        let disconnected: Bool
    }

    @Sendable static func handle(_ call: PlatformCall<ConnectionChoice>, _ context: RequestContext) throws -> Response {
        let store = context.connections
        guard let connection = try store.find(userID: call.caller.userID, connectionID: try call.input.id()) else {
            throw OAuthError.connectionNotFound
        }
        if let credential = try? store.credential(connection) {
            TokenRevocation.revoke(
                [credential.refreshToken, credential.accessToken], with: context.oauth, logger: call.logger)
        }
        try store.disconnect(connection, correlationID: call.requestID)
        try context.audit.record(
            "VERCEL_DISCONNECTED", severity: .medium, actor: call.caller.userID, connection: connection,
            correlationID: call.requestID)
        return .json(Disconnected(disconnected: true))
    }
}
