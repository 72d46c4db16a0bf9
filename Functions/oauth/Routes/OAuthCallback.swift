import FastCGI
import Kernel
import Platform
import PlatformHost
import Vercel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `GET /v1/internal/vercel/oauth/callback`: the user's browser back from Vercel. The `state` is
/// spent in one statement (unknown, reused or expired: nothing happens), the code is exchanged
/// (with the PKCE verifier for the OAuth app), the account is read, and the grant is held, sealed,
/// until the platform confirms it for its signed-in user (`OAuthConfirm`; with
/// `SHEEN_OAUTH_CONFIRMATION=off`, stored as the connection at once). Every outcome is a redirect:
/// to the success page (`status=confirm#confirmation=…`, or `status=connected`), or to the failure
/// page with a code. The exchange and what follows are `ConnectFlow`'s.
enum OAuthCallback {
    @Sendable static func handle(_ request: Request, _ context: WorkerServices) throws -> Response {
        do {
            return try answer(request, context)
        } catch {
            Metrics.shared.increment(.oauthConnections, ["failed"])
            throw error
        }
    }

    /// The callback's answer, each outcome counted (`sheen_vercel_oauth_connections_total`):
    /// connected, declined (a state that is unknown or spent, a person or Vercel refusing, a
    /// malformed return), or failed (the exchange, or anything that throws).
    private static func answer(_ request: Request, _ context: WorkerServices) throws -> Response {
        let settings = context.configuration.vercel
        let logger = request.logger
        func failure(_ code: String) -> Response {
            logger.info("oauth callback refused", metadata: ["oauth.failure": "\(code)"])
            Metrics.shared.increment(.oauthConnections, [code == "TOKEN_EXCHANGE_FAILED" ? "failed" : "declined"])
            return redirect(settings.failureURL, [("error", code)])
        }
        // A browser lands here: what the host would refuse as JSON is a failure page too.
        do {
            try request.screen()
        } catch {
            return failure("STATE_INVALID")
        }
        guard let state = request.query("state"), let pending = try context.oauthStates.spend(state) else {
            return failure("STATE_INVALID")
        }
        if let error = request.query("error") {
            return failure(error == "access_denied" ? "ACCESS_DENIED" : "AUTHORIZATION_FAILED")
        }
        guard let code = request.query("code"), (1...512).contains(code.utf8.count) else {
            return failure("CODE_MISSING")
        }
        // The team Vercel says the install was for, when the token exchange does not.
        let teamQuery = request.query("teamId")
        if let teamQuery, !VercelIdentifier.isValid(teamQuery) { return failure("AUTHORIZATION_FAILED") }
        let configurationID = request.query("configurationId")
        if let configurationID, !VercelIdentifier.isValid(configurationID) { return failure("AUTHORIZATION_FAILED") }

        let grant: ConnectionStore.Grant
        do {
            grant = try context.connect.grant(
                for: pending, .init(code: code, teamID: teamQuery, configurationID: configurationID), logger: logger)
        } catch ConnectFlow.Refusal.stateInvalid {
            return failure("STATE_INVALID")
        } catch ConnectFlow.Refusal.exchangeFailed {
            return failure("TOKEN_EXCHANGE_FAILED")
        }
        let target =
            pending.redirectURI ?? Self.platformPage(request.query("next"), origin: settings.successURL)
            ?? settings.successURL
        let finished = try context.connect.finish(grant, confirmationRequired: settings.confirmationRequired)
        Metrics.shared.increment(.oauthConnections, ["connected"])
        switch finished {
        case .pending(let confirmation):
            // The browser gets the confirmation in the fragment, which no server and no Referer sees;
            // the platform confirms it for whoever is signed in there (`OAuthConfirm`).
            return redirect(target, [("status", "confirm")], fragment: [("confirmation", confirmation)])
        case .connected(let connection):
            return redirect(target, [("status", "connected"), ("connectionId", connection.uuidString.lowercased())])
        }
    }

    /// `next` as a page of the platform: only a path (`/settings/vercel`), joined to the platform's
    /// origin; an absolute URL, a `//host` or anything with a backslash or a control character is
    /// ignored, so the callback never redirects off the platform.
    static func platformPage(_ next: String?, origin successURL: String) -> String? {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), next.utf8.count <= 2048,
            next.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "\\") }),
            let origin = OAuthInitiate.origin(of: successURL)
        else { return nil }
        return origin + next
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
