import Logging
import Vercel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Connecting a user's Vercel account: the authorization code exchanged (with the PKCE verifier
/// for the OAuth app), the account and team read with the new token, and the grant either held
/// until the platform confirms it for its signed-in user or stored as the connection at once.
public struct ConnectFlow {
    let services: WorkerServices

    public init(_ services: WorkerServices) {
        self.services = services
    }

    /// What Vercel's redirect back carried besides the code.
    public struct Callback: Sendable {
        public let code: String
        /// The team Vercel says the install was for, when the token exchange does not.
        public let teamID: String?
        public let configurationID: String?

        public init(code: String, teamID: String?, configurationID: String?) {
            self.code = code
            self.teamID = teamID
            self.configurationID = configurationID
        }
    }

    /// What a finished exchange came to.
    public enum Finished: Sendable {
        /// Held until the platform confirms it: the confirmation for the browser's fragment.
        case pending(confirmation: String)
        case connected(UUID)
    }

    public enum Refusal: Error, Equatable {
        /// The state was spent for the OAuth app without its verifier.
        case stateInvalid
        /// Vercel did not exchange the code, or did not answer for the account.
        case exchangeFailed(code: String)
    }

    /// Exchanges the code of `pending`'s authorization and reads the account.
    public func grant(
        for pending: OAuthStateStore.Spent, _ callback: Callback, logger: Logger
    ) throws
        -> ConnectionStore.Grant
    {
        var grant: ConnectionStore.Grant
        do {
            if pending.mode == VercelSettings.Mode.oauthApp.rawValue {
                guard let verifier = pending.verifier else { throw Refusal.stateInvalid }
                let pair = try services.oauth.exchangeAuthorizationCode(callback.code, verifier: verifier)
                grant = .init(
                    userID: pending.userID, teamID: pending.teamID ?? callback.teamID, teamName: nil,
                    vercelUserID: "", email: nil, mode: pending.mode, configurationID: nil, installationID: nil,
                    accessToken: pair.accessToken, refreshToken: pair.refreshToken,
                    expiresAt: pair.expiresIn.map { Date().addingTimeInterval(Double($0)) },
                    scopes: VercelPermission.known((pair.scope ?? "").split(separator: " ").map(String.init))?
                        .map(\.description))
            } else {
                let token = try services.oauth.exchangeIntegrationCode(callback.code)
                grant = .init(
                    userID: pending.userID, teamID: token.teamID ?? callback.teamID, teamName: nil,
                    vercelUserID: token.userID, email: nil, mode: pending.mode,
                    configurationID: callback.configurationID, installationID: token.installationID,
                    accessToken: token.accessToken, refreshToken: nil, expiresAt: nil, scopes: nil)
            }
            let credentials = VercelClient.Credentials(
                accessToken: grant.accessToken, teamID: grant.teamID, logger: logger)
            if pending.mode == VercelSettings.Mode.integration.rawValue, let configurationID = callback.configurationID
            {
                // The installation's permissions, where Vercel reports them; unknown otherwise.
                grant.scopes = (try? services.vercel.integrationConfiguration(configurationID, credentials))?.scopes
            }
            let user = try services.vercel.user(credentials)
            grant.vercelUserID = user.id
            grant.email = user.email
            if let team = grant.teamID {
                grant.teamName = try services.vercel.teams(credentials).first { $0.id == team }?.name ?? team
            }
        } catch let error as VercelError {
            logger.warning("oauth exchange failed", metadata: ["vercel.error": "\(error.code)"])
            throw Refusal.exchangeFailed(code: error.code)
        }
        return grant
    }

    private struct ConnectedDetails: Encodable {
        let mode: String
        let confirmed: Bool?
    }

    /// Holds `grant` for the platform's confirmation, or stores it as the connection at once.
    public func finish(_ grant: ConnectionStore.Grant, confirmationRequired: Bool) throws -> Finished {
        if confirmationRequired {
            let confirmation = try services.pendingGrants.hold(grant)
            try services.audit.record(
                .vercelConnectPending, severity: .low, actor: grant.userID,
                details: ConnectedDetails(mode: grant.mode, confirmed: nil))
            return .pending(confirmation: confirmation)
        }
        let connection = try services.connections.save(grant)
        try services.audit.record(
            .vercelConnected, severity: .medium, actor: grant.userID, connection: connection,
            details: ConnectedDetails(mode: grant.mode, confirmed: nil))
        return .connected(connection)
    }

    private struct MismatchDetails: Encodable {
        let startedBy: String
        let vercelUserId: String
    }

    /// What confirming a held grant came to.
    public enum Confirmed {
        case connected(UUID, ConnectionStore.Grant)
        /// No grant is held under the confirmation (unknown, spent or expired).
        case invalid
        /// The grant was started by another user: its tokens are revoked and forgotten.
        case userMismatch
    }

    /// Stores the grant held under `confirmation` as `userID`'s connection, if they started it.
    public func confirm(_ confirmation: String, for userID: UUID, logger: Logger) throws -> Confirmed {
        guard let grant = try services.pendingGrants.take(confirmation) else { return .invalid }
        guard grant.userID == userID else {
            TokenRevocation.revoke([grant.refreshToken, grant.accessToken], with: services.oauth, logger: logger)
            try services.audit.record(
                .vercelConnectUserMismatch, severity: .high, actor: userID,
                details: MismatchDetails(
                    startedBy: grant.userID.uuidString.lowercased(), vercelUserId: grant.vercelUserID))
            return .userMismatch
        }
        let connection = try services.connections.save(grant)
        try services.audit.record(
            .vercelConnected, severity: .medium, actor: userID, connection: connection,
            details: ConnectedDetails(mode: grant.mode, confirmed: true))
        return .connected(connection, grant)
    }
}

extension WorkerServices {
    /// Connecting a user's Vercel account.
    public var connect: ConnectFlow { ConnectFlow(self) }
}
