import Logging
import Vercel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension RequestContext {
    /// Credentials for calling Vercel for the caller of `call`: the connection given (a linked
    /// project's), else their newest connected account; its token fresh (refreshed first when it
    /// expires soon), holding `scope`, and refreshed once more on a 401. One statement when nothing
    /// needs a refresh. The calls log on the request's logger.
    /// - Throws: 401 `AUTH_REQUIRED` without a usable connection, 403 `INSUFFICIENT_SCOPE` without
    ///   the scope.
    public func vercelCredentials<Input>(
        for call: PlatformCall<Input>, connection: UUID? = nil, requiring scope: String
    ) throws -> VercelClient.Credentials {
        let credential = try tokens.usable(
            userID: call.caller.userID, connectionID: connection, correlationID: call.requestID)
        try credential.require(scope)
        return credentials(credential, logger: call.logger, correlationID: call.requestID)
    }

    /// Credentials for calling Vercel with `credential`, its token refreshed once on a 401.
    public func credentials(
        _ credential: ConnectionStore.Credential, logger: Logger, correlationID: String
    ) -> VercelClient.Credentials {
        let tokens = self.tokens
        return VercelClient.Credentials(
            accessToken: credential.accessToken, teamID: credential.teamID, connectionID: credential.id,
            breaker: credential.breaker, logger: logger
        ) {
            try tokens.refresh(credential.id, correlationID: correlationID).accessToken
        }
    }
}
