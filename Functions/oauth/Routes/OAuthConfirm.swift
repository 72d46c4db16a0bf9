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

    @Sendable static func handle(_ call: PlatformCall<Input>, _ context: WorkerServices) throws -> Response {
        switch try context.connect.confirm(call.input.confirmation, for: call.caller.userID, logger: call.logger) {
        case .invalid: throw OAuthError.confirmationInvalid
        case .userMismatch: throw OAuthError.userMismatch
        case .connected(let connection, let grant):
            return .json(
                Confirmed(
                    connectionId: connection.uuidString.lowercased(),
                    accountType: grant.teamID == nil ? "personal" : "team",
                    teamId: grant.teamID, teamName: grant.teamName))
        }
    }
}
