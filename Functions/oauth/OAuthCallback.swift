#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Crypto
import FastCGI
import Platform
import Postgres
import Vercel

/// `GET /v1/internal/vercel/oauth/callback`: the user's browser back from Vercel. The `state` is
/// spent in one statement (unknown, reused or expired: nothing happens), the code is exchanged
/// (with the PKCE verifier for the OAuth app), the account is read, and the grant is held, sealed,
/// until the platform confirms it for its signed-in user (`OAuthConfirm`; with
/// `SHEEN_OAUTH_CONFIRMATION=off`, stored as the connection at once). Every outcome is a redirect:
/// to the success page (`status=confirm#confirmation=…`, or `status=connected`), or to the failure
/// page with a code.
enum OAuthCallback {
    @Sendable static func handle(_ request: Request, _ context: RequestContext) throws -> Response {
        let (settings, client, oauth) = try context.vercel()
        func failure(_ code: String) -> Response {
            context.logger.info("oauth callback refused", metadata: ["oauth.failure": "\(code)", "request.id": "\(request.requestID)"])
            return redirect(settings.failureURL, [("error", code)])
        }
        guard let state = request.query("state"), (16...256).contains(state.utf8.count) else { return failure("STATE_INVALID") }
        let rows = try context.database.query(
            """
            UPDATE vercel_oauth_states SET consumed_at = now()
            WHERE state_hash = \(Digest.sha256Hex(state)) AND consumed_at IS NULL AND expires_at > now()
            RETURNING state_hash, user_id, team_id, redirect_uri, code_verifier_sealed, auth_mode
            """)
        guard let pending = rows.first else { return failure("STATE_INVALID") }
        if request.query("error") != nil {
            return failure(request.query("error") == "access_denied" ? "ACCESS_DENIED" : "AUTHORIZATION_FAILED")
        }
        guard let code = request.query("code"), (1...512).contains(code.utf8.count) else { return failure("CODE_MISSING") }
        let userID: UUID = try pending.decode("user_id")
        let mode: String = try pending.decode("auth_mode")

        var grant: ConnectionStore.Grant
        do {
            if mode == VercelSettings.Mode.oauthApp.rawValue {
                guard let sealed = pending["code_verifier_sealed"] else { return failure("STATE_INVALID") }
                let verifier = try context.configuration.keyRing.open(
                    sealed, context: SealContext(table: "vercel_oauth_states", column: "code_verifier_sealed", rowID: try pending.decode("state_hash")))
                let pair = try oauth.exchangeAuthorizationCode(code, verifier: verifier)
                grant = .init(
                    userID: userID, teamID: pending["team_id"], teamName: nil, vercelUserID: "", email: nil, mode: mode, configurationID: nil,
                    installationID: nil, accessToken: pair.accessToken, refreshToken: pair.refreshToken,
                    expiresAt: pair.expiresIn.map { Date().addingTimeInterval(Double($0)) },
                    scopes: (pair.scope ?? "").split(separator: " ").map(String.init), correlationID: request.requestID)
            } else {
                let token = try oauth.exchangeIntegrationCode(code)
                grant = .init(
                    userID: userID, teamID: token.teamID, teamName: nil, vercelUserID: token.userID, email: nil, mode: mode,
                    configurationID: request.query("configurationId"), installationID: token.installationID, accessToken: token.accessToken,
                    refreshToken: nil, expiresAt: nil, scopes: settings.integrationScopes, correlationID: request.requestID)
            }
            let credentials = VercelClient.Credentials(accessToken: grant.accessToken, teamID: grant.teamID)
            let user = try client.user(credentials, correlationID: request.requestID)
            grant.vercelUserID = user.id
            grant.email = user.email
            if let team = grant.teamID {
                grant.teamName = try client.teams(credentials, correlationID: request.requestID).first { $0.id == team }?.name ?? team
            }
        } catch let error as VercelError {
            context.logger.warning("oauth exchange failed", metadata: ["vercel.error": "\(error.code)", "request.id": "\(request.requestID)"])
            return failure("TOKEN_EXCHANGE_FAILED")
        }
        let target = pending["redirect_uri"] ?? settings.successURL
        if settings.confirmationRequired {
            // The browser gets the confirmation in the fragment, which no server and no Referer sees;
            // the platform confirms it for whoever is signed in there (`OAuthConfirm`).
            let confirmation = try PendingGrants(database: context.database, keyRing: context.configuration.keyRing).hold(grant)
            try SecurityAudit.record(
                "VERCEL_CONNECT_PENDING", severity: "LOW", actorID: userID.uuidString.lowercased(), details: #"{"mode":"\#(mode)"}"#,
                correlationID: request.requestID, database: context.database)
            return redirect(target, [("status", "confirm")], fragment: [("confirmation", confirmation)])
        }
        let connection = try ConnectionStore(database: context.database, keyRing: context.configuration.keyRing).save(grant)
        try SecurityAudit.record(
            "VERCEL_CONNECTED", severity: "MEDIUM", actorID: userID.uuidString.lowercased(), connectionID: connection.uuidString.lowercased(),
            details: #"{"mode":"\#(mode)"}"#, correlationID: request.requestID, database: context.database)
        return redirect(target, [("status", "connected"), ("connectionId", connection.uuidString.lowercased())])
    }

    static func redirect(_ url: String, _ query: [(String, String)], fragment: [(String, String)] = []) -> Response {
        func encoded(_ pairs: [(String, String)]) -> String {
            pairs.map { "\($0.0)=\(QueryString.encode($0.1))" }.joined(separator: "&")
        }
        let separator = url.contains("?") ? "&" : "?"
        var location = url + separator + encoded(query)
        if !fragment.isEmpty { location += "#" + encoded(fragment) }
        return Response(status: 302, headers: [("Location", location), ("Cache-Control", "no-store")])
    }
}
