import FastCGI
import Platform
import PlatformHost
import Vercel

/// `POST /v1/internal/vercel/oauth/disconnect`: ends the connection at Vercel too, then wipes its
/// tokens and marks it `disconnected`. An integration connection removes its integration
/// configuration (the user's installation: its tokens stop working); an OAuth app connection revokes
/// its tokens. Both are best effort: a failure is logged with Vercel's reason and said in the
/// answer, and the tokens are forgotten all the same. The user's other connections stay.
enum Disconnect {
    struct Disconnected: Encodable {
        let disconnected: Bool
        /// Whether Vercel confirmed the end of the installation or the tokens' revocation.
        let endedAtVercel: Bool
    }

    @Sendable static func handle(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        let store = context.connections
        guard
            let connection = try store.find(
                userID: call.caller.userID, connectionID: call.connectionChoice.connectionID)
        else {
            throw OAuthError.connectionNotFound
        }
        var ended = false
        if let credential = try? store.credential(connection) {
            if credential.mode == "integration", let configuration = credential.configurationID {
                do {
                    try context.vercel.removeIntegrationConfiguration(
                        configuration,
                        context.credentials(credential, logger: call.logger))
                    ended = true
                } catch {
                    call.logger.warning(
                        "integration configuration not removed; forgetting the connection anyway",
                        metadata: ["vercel.error": "\(error.code)"])
                }
            } else {
                ended = TokenRevocation.revoke(
                    [credential.refreshToken, credential.accessToken], with: context.oauth, logger: call.logger)
            }
        }
        try store.disconnect(connection)
        try context.audit.record(
            .vercelDisconnected, severity: .medium, actor: call.caller.userID, connection: connection)
        return .json(Disconnected(disconnected: true, endedAtVercel: ended))
    }
}
