#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import FastCGI
import Platform
import Vercel

/// `POST /v1/internal/vercel/oauth/test-connection` and `POST /v1/internal/vercel/oauth/refresh`.
enum ConnectionActions {
    /// What every group needs; a connection without one of these will be asked to reconnect.
    static let requiredScopes = [
        "user:read", "project:read", "project:write", "deployment:read", "deployment:write", "env:read", "env:write",
        "domain:read", "domain:write",
    ]

    struct Body: Decodable {
        let userId: String
        let connectionId: String?
    }

    static func connection(_ request: Request, _ context: RequestContext, _ caller: PlatformCaller) throws -> UUID {
        let body = try request.decodeJSON(Body.self)
        let wanted = try body.connectionId.map { text -> UUID in
            guard let id = UUID(uuidString: text) else { throw HTTPError.badRequest("connectionId must be a UUID", code: "INVALID_CONNECTION_ID") }
            return id
        }
        guard let id = try context.tokens().store.find(userID: caller.userID, connectionID: wanted) else {
            throw HTTPError(401, code: "AUTH_REQUIRED", message: "Connect your Vercel account", extraFields: ["action": "RECONNECT"])
        }
        return id
    }

    struct Health: Encodable {
        let healthy: Bool
        let latencyMs: Int64
        let user: VercelUser?
        let missingScopes: [String]
        let problem: String?
    }

    @Sendable static func testConnection(_ request: Request, _ context: RequestContext, _ caller: PlatformCaller) throws -> Response {
        let id = try connection(request, context, caller)
        let (_, service) = try context.tokens()
        let usable = try service.usable(id, correlationID: request.requestID)
        let credentials = VercelClient.Credentials(accessToken: usable.accessToken, teamID: usable.teamID, connectionID: id) {
            try service.refresh(id, correlationID: request.requestID).accessToken
        }
        let missing = requiredScopes.filter { !usable.scopes.contains($0) }
        let started = ContinuousClock.now
        do {
            let user = try context.vercel().client.user(credentials, correlationID: request.requestID)
            return .json(Health(healthy: true, latencyMs: (ContinuousClock.now - started).milliseconds, user: user, missingScopes: missing, problem: nil))
        } catch let error as VercelError {
            if case .unauthorized = error { throw error }
            return .json(Health(healthy: false, latencyMs: (ContinuousClock.now - started).milliseconds, user: nil, missingScopes: missing, problem: error.code))
        }
    }

    struct Refreshed: Encodable {
        let refreshed: Bool
        let tokenExpiresAt: Date?
    }

    @Sendable static func refresh(_ request: Request, _ context: RequestContext, _ caller: PlatformCaller) throws -> Response {
        let id = try connection(request, context, caller)
        let refreshed = try context.tokens().service.refresh(id, correlationID: request.requestID)
        return .json(Refreshed(refreshed: true, tokenExpiresAt: refreshed.expiresAt))
    }
}
