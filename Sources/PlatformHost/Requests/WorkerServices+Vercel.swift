import Logging
import Platform
import Vercel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension WorkerServices {
    /// Credentials for calling Vercel for the caller of `call`: the connection given (a linked
    /// project's), else their newest connected account; its token fresh (refreshed first when it
    /// expires soon), holding `scope`, and refreshed once more on a 401. One statement when nothing
    /// needs a refresh. The calls log on the request's logger.
    /// - Throws: 401 `AUTH_REQUIRED` without a usable connection, 403 `INSUFFICIENT_SCOPE` naming
    ///   Vercel's permission when the connection is known not to hold it.
    public func vercelCredentials<Input>(
        for call: PlatformCall<Input>, connection: UUID? = nil, requiring scope: VercelPermission
    ) throws -> VercelClient.Credentials {
        let chosen = try connection ?? self.connection(for: call)
        let credential = try tokens.usable(
            userID: call.caller.userID, connectionID: chosen)
        try credential.require(scope)
        var credentials = credentials(credential, logger: call.logger)
        credentials.requiredScope = scope.description
        return credentials
    }

    /// The connection a request acts with: its linked project's; else the one it names
    /// (`connectionId`, or `teamId`); else the user's only connected one.
    /// - Throws: 401 `AUTH_REQUIRED` when there is none (or none for that team), 409
    ///   `CONNECTION_AMBIGUOUS` listing them when there are several and the request did not choose.
    public func connection<Input>(for call: PlatformCall<Input>) throws -> UUID {
        if let link = call.project?.link { return link.connectionID }
        let choice = call.connectionChoice
        if let id = choice.connectionID { return id }
        let connected = try connections.summaries(of: call.caller.userID).filter { $0.status == "connected" }
        if let team = choice.teamID {
            guard let match = connected.first(where: { $0.teamId == team }) else { throw PlatformError.authRequired }
            return match.id
        }
        guard connected.count <= 1 else {
            throw PlatformError.connectionAmbiguous(
                connected.map {
                    .init(id: $0.id, teamID: $0.teamId, teamName: $0.teamName, accountType: $0.accountType)
                })
        }
        guard let only = connected.first else { throw PlatformError.authRequired }
        return only.id
    }
}
