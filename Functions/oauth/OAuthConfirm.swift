#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import FastCGI
import Platform
import Vercel

/// `POST /v1/internal/vercel/oauth/confirm` (`userId`, `confirmation`): the platform's page, back
/// from the callback, confirms the authorization for the user signed in there. Only the user the
/// authorization was started for can confirm it: for anyone else it is 403 `OAUTH_USER_MISMATCH`,
/// the tokens are revoked at Vercel and nothing is stored. Either way the confirmation is spent.
enum OAuthConfirm {
    struct Body: Decodable {
        let userId: String
        let confirmation: String
    }

    @Sendable static func handle(_ request: Request, _ context: RequestContext, _ caller: PlatformCaller) throws -> Response {
        let body = try request.decodeJSON(Body.self)
        let keyRing = context.configuration.keyRing
        guard let grant = try PendingGrants(database: context.database, keyRing: keyRing).take(body.confirmation) else {
            throw HTTPError(
                404, code: "CONFIRMATION_INVALID", message: "This Vercel authorization is unknown, already used or expired; connect again",
                extraFields: ["action": "RECONNECT"])
        }
        guard grant.userID == caller.userID else {
            TokenRevocation.revoke([grant.refreshToken, grant.accessToken], with: try context.vercel().oauth, logger: request.logger)
            try SecurityAudit.record(
                "VERCEL_CONNECT_USER_MISMATCH", severity: "HIGH", actor: caller,
                details: JSONValue.object([
                    "startedBy": .string(grant.userID.uuidString.lowercased()), "vercelUserId": .string(grant.vercelUserID),
                ]).serializedText,
                correlationID: request.requestID, database: context.database)
            throw HTTPError(
                403, code: "OAUTH_USER_MISMATCH",
                message: "This Vercel authorization was started by another user; start the connection again from your own account",
                extraFields: ["action": "RECONNECT"])
        }
        let connection = try ConnectionStore(database: context.database, keyRing: keyRing).save(grant)
        try SecurityAudit.record(
            "VERCEL_CONNECTED", severity: "MEDIUM", actor: caller, connectionID: connection.uuidString.lowercased(),
            details: JSONValue.object(["mode": .string(grant.mode), "confirmed": true]).serializedText,
            correlationID: request.requestID, database: context.database)
        return .json(JSONValue.object([
            "connected": true, "connectionId": .string(connection.uuidString.lowercased()),
            "accountType": .string(grant.teamID == nil ? "personal" : "team"), "teamId": grant.teamID.map { .string($0) } ?? .null,
            "teamName": grant.teamName.map { .string($0) } ?? .null,
        ]))
    }
}
