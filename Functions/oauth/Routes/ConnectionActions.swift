import FastCGI
import Platform
import PlatformHost
import Vercel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `POST /v1/internal/vercel/oauth/test-connection` and `POST /v1/internal/vercel/oauth/refresh`.
enum ConnectionActions {
    /// What every group needs, in Vercel's words (each `read-write:` includes its `read:`); a
    /// connection without one of these will be asked to reconnect.
    static let requiredScopes: [VercelPermission] = [
        .readUser, .writeProject, .writeDeployment, .writeEnv, .writeDomain,
    ]

    struct Health: Encodable {
        let healthy: Bool
        let latencyMs: Int64
        let user: VercelUser?
        let missingScopes: [String]
        let problem: String?
    }

    @Sendable static func testConnection(
        _ call: PlatformCall<NoInput>, _ context: WorkerServices
    ) throws -> Response {
        let usable = try context.tokens.usable(
            userID: call.caller.userID, connectionID: call.connectionChoice.connectionID)
        let credentials = context.credentials(usable, logger: call.logger)
        let missing =
            usable.permissions.map { granted in
                requiredScopes.filter { !$0.isGranted(by: granted) }.map(\.description)
            } ?? []
        let started = ContinuousClock.now
        let answer = Result { () throws(VercelError) -> VercelUser in
            try context.vercel.user(credentials)
        }
        let latency = (ContinuousClock.now - started).milliseconds
        switch answer {
        case .success(let user):
            return .json(Health(healthy: true, latencyMs: latency, user: user, missingScopes: missing, problem: nil))
        case .failure(let error):
            if case .unauthorized = error { throw error }
            return .json(
                Health(healthy: false, latencyMs: latency, user: nil, missingScopes: missing, problem: error.code))
        }
    }

    struct Refreshed: Encodable {
        let refreshed: Bool
        let tokenExpiresAt: Date?
    }

    @Sendable static func refresh(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        guard
            let id = try context.connections.find(
                userID: call.caller.userID, connectionID: call.connectionChoice.connectionID)
        else {
            throw ConnectionError.notConnected
        }
        let refreshed = try context.tokens.refresh(id)
        return .json(Refreshed(refreshed: true, tokenExpiresAt: refreshed.expiresAt))
    }
}
