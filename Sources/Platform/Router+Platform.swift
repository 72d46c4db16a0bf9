import FastCGI
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

extension Router where Context == RequestContext {
    public typealias PlatformHandler = @Sendable (Request, RequestContext, PlatformCaller) throws -> Response

    /// Adds a route the platform's backend calls for a user. Before `handler` runs, the request
    /// signature is verified, its nonce is spent, the user is loaded and, when the pattern has a
    /// `:projectId`, the user must own that project (404 otherwise). No route can forget a step.
    public mutating func platform(
        _ method: String, _ pattern: String, bodyLimit: Int = Router.defaultBodyLimit,
        _ handler: @escaping PlatformHandler
    ) {
        add(method, pattern, bodyLimit: bodyLimit) { request, context in
            let caller = try Self.authenticate(request, context)
            if let project = request.parameter("projectId") {
                try caller.requireOwnership(of: project, database: context.database)
            }
            return try handler(request, context, caller)
        }
    }

    /// Adds a route for operators: signed like `platform`, and the user must hold the admin role.
    public mutating func admin(
        _ method: String, _ pattern: String, bodyLimit: Int = Router.defaultBodyLimit,
        _ handler: @escaping PlatformHandler
    ) {
        add(method, pattern, bodyLimit: bodyLimit) { request, context in
            let caller = try Self.authenticate(request, context)
            guard caller.isAdmin else {
                throw HTTPError(403, code: "ADMIN_REQUIRED", message: "This route is for administrators")
            }
            return try handler(request, context, caller)
        }
    }

    private static func authenticate(_ request: Request, _ context: RequestContext) throws -> PlatformCaller {
        let proof = try PlatformSignature.verify(
            request, secret: context.configuration.platformSecret, now: Int64(Date().timeIntervalSince1970),
            acceptLegacy: context.configuration.acceptLegacySignatures)
        guard try ReplayGuard.firstUse(of: proof.replayKey, database: context.database) else {
            throw SignatureFailure.replayed
        }
        return try PlatformCaller.resolve(request, database: context.database)
    }
}
