import FastCGI
import Platform
import PlatformHost
import Vercel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `POST /v1/internal/vercel/oauth/confirm` (`userId`, `confirmation`): the platform's page, back
/// from the callback, confirms the authorization for the user signed in there. Only the user the
/// authorization was started for can confirm it: for anyone else it is 403 `OAUTH_USER_MISMATCH`,
/// the tokens are revoked at Vercel and nothing is stored. Either way the confirmation is spent.
enum OAuthConfirm {
    struct Input: Decodable {
        let confirmation: String
    }

    struct Confirmed: Encodable {
        let connected = true
        let connectionId: String
        let accountType: String
        let teamId: String?
        let teamName: String?

        func encode(to encoder: any Encoder) throws {
            enum Keys: String, CodingKey { case connected, connectionId, accountType, teamId, teamName }
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(connected, forKey: .connected)
            try container.encode(connectionId, forKey: .connectionId)
            try container.encode(accountType, forKey: .accountType)
            try container.encode(teamId, forKey: .teamId)
            try container.encode(teamName, forKey: .teamName)
        }
    }

    private struct MismatchDetails: Encodable {
        let startedBy: String
        let vercelUserId: String
    }

    private struct ConnectedDetails: Encodable {
        let mode: String
        let confirmed: Bool
    }

    @Sendable static func handle(_ call: PlatformCall<Input>, _ context: WorkerServices) throws -> Response {
        guard let grant = try context.pendingGrants.take(call.input.confirmation) else {
            throw OAuthError.confirmationInvalid
        }
        guard grant.userID == call.caller.userID else {
            TokenRevocation.revoke([grant.refreshToken, grant.accessToken], with: context.oauth, logger: call.logger)
            try context.audit.record(
                .vercelConnectUserMismatch, severity: .high, actor: call.caller.userID,
                details: MismatchDetails(
                    startedBy: grant.userID.uuidString.lowercased(), vercelUserId: grant.vercelUserID))
            throw OAuthError.userMismatch
        }
        let connection = try context.connections.save(grant)
        try context.audit.record(
            .vercelConnected, severity: .medium, actor: call.caller.userID, connection: connection,
            details: ConnectedDetails(mode: grant.mode, confirmed: true))
        return .json(
            Confirmed(
                connectionId: connection.uuidString.lowercased(),
                accountType: grant.teamID == nil ? "personal" : "team",
                teamId: grant.teamID, teamName: grant.teamName))
    }
}
