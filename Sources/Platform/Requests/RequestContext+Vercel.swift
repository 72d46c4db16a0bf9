import Vercel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension RequestContext {
    /// Credentials for calling Vercel for `userID`: the connection given (a linked project's), else
    /// their newest connected account; its token fresh (refreshed first when it expires soon),
    /// holding `scope`, and refreshed once more on a 401. One statement when nothing needs a refresh.
    /// - Throws: 401 `AUTH_REQUIRED` without a usable connection, 403 `INSUFFICIENT_SCOPE` without
    ///   the scope.
    public func vercelCredentials(
        for userID: UUID, connection: UUID? = nil, requiring scope: String, correlationID: String
    ) throws -> VercelClient.Credentials {
        let credential = try tokens.usable(userID: userID, connectionID: connection, correlationID: correlationID)
        try credential.require(scope)
        let tokens = self.tokens
        return VercelClient.Credentials(
            accessToken: credential.accessToken, teamID: credential.teamID, connectionID: credential.id,
            breaker: credential.breaker
        ) {
            try tokens.refresh(credential.id, correlationID: correlationID).accessToken
        }
    }
}
