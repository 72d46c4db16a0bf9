#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import FastCGI
import Vercel

extension RequestContext {
    /// Credentials for calling Vercel as `caller`: the connection given (a linked project's), else
    /// their newest connected account; its token fresh (refreshed first when it expires soon),
    /// holding `scope`, and refreshed once more on a 401.
    /// - Throws: 401 `AUTH_REQUIRED` without a usable connection, 403 `INSUFFICIENT_SCOPE` without
    ///   the scope.
    public func vercelCredentials(
        for caller: PlatformCaller, connection: UUID? = nil, requiring scope: String, correlationID: String
    ) throws -> VercelClient.Credentials {
        let (store, service) = try tokens()
        guard let id = try store.find(userID: caller.userID, connectionID: connection) else {
            throw HTTPError(401, code: "AUTH_REQUIRED", message: "Connect your Vercel account", extraFields: ["action": "RECONNECT"])
        }
        let connection = try service.usable(id, correlationID: correlationID)
        try connection.require(scope)
        return VercelClient.Credentials(accessToken: connection.accessToken, teamID: connection.teamID, connectionID: id) {
            try service.refresh(id, correlationID: correlationID).accessToken
        }
    }
}
