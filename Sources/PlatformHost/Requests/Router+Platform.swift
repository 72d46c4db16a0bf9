import FastCGI
@_spi(Host) import Platform

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension Router where Context == WorkerServices {
    /// Adds a route the platform's backend calls for a user. Before `handler` runs, the request
    /// signature is verified, its nonce is spent, the body is decoded into `Input`, the user is
    /// loaded and, when the pattern has a `:projectId`, the user must own that project (404
    /// otherwise). No route can forget a step. `reach`: `.local` for a route that never calls
    /// Vercel (it is then served by workers no Vercel call can hold, and trap if it does); `line`:
    /// a line of the upstream queue of its own (`Router.Route.line`).
    public mutating func platform<Input: Decodable & SendableMetatype>(
        _ method: String, _ pattern: String, input: Input.Type, bodyLimit: Int = Router.defaultBodyLimit,
        reach: Reach = .upstream, line: String? = nil,
        _ handler: @escaping @Sendable (PlatformCall<Input>, WorkerServices) throws -> Response
    ) {
        add(method, pattern, bodyLimit: bodyLimit, reach: reach, line: line) { request, context in
            try handler(try Self.authenticate(request, context, as: Input.self), context)
        }
    }

    /// Adds a route for operators: signed like `platform`, and the user must hold the admin role.
    public mutating func admin<Input: Decodable & SendableMetatype>(
        _ method: String, _ pattern: String, input: Input.Type, bodyLimit: Int = Router.defaultBodyLimit,
        reach: Reach = .upstream,
        _ handler: @escaping @Sendable (PlatformCall<Input>, WorkerServices) throws -> Response
    ) {
        add(method, pattern, bodyLimit: bodyLimit, reach: reach) { request, context in
            try handler(try Self.authenticate(request, context, as: Input.self, admin: true), context)
        }
    }

    /// A platform route whose only input is `userId` (and the query).
    public mutating func platform(
        _ method: String, _ pattern: String, reach: Reach = .upstream, line: String? = nil,
        _ handler: @escaping @Sendable (PlatformCall<NoInput>, WorkerServices) throws -> Response
    ) {
        platform(method, pattern, input: NoInput.self, reach: reach, line: line, handler)
    }

    /// An admin route whose only input is `userId` (and the query).
    public mutating func admin(
        _ method: String, _ pattern: String, reach: Reach = .upstream,
        _ handler: @escaping @Sendable (PlatformCall<NoInput>, WorkerServices) throws -> Response
    ) {
        admin(method, pattern, input: NoInput.self, reach: reach, handler)
    }

    /// - Parameter admin: whether the caller must hold the admin role; a caller who does not is
    ///   refused before anything of the body but `userId` is judged.
    private static func authenticate<Input: Decodable>(
        _ request: Request, _ context: WorkerServices, as: Input.Type, admin: Bool = false
    ) throws -> PlatformCall<Input> {
        let proof = try PlatformSignature.verify(
            request, secret: context.configuration.platformSecret, now: Int64(Date().timeIntervalSince1970),
            acceptLegacy: context.configuration.acceptLegacySignatures)
        let userText: String?
        let input: Result<Input, any Error>
        let choice: Result<ConnectionChoice, any Error>
        if request.method == "GET" || request.method == "DELETE" || request.method == "HEAD" {
            userText = request.query("userId")
            input = Result { try JSONDecoder().decode(Input.self, from: Data("{}".utf8)) }
            choice = Result {
                try ConnectionChoice.parse(connectionID: request.query("connectionId"), teamID: request.query("teamId"))
            }
        } else {
            let body = try request.decodeJSON(PlatformBody<Input>.self)
            userText = body.userID
            input = body.input
            choice = Result { try ConnectionChoice.parse(connectionID: body.connectionID, teamID: body.teamID) }
        }
        guard let userText else { throw PlatformError.userIDRequired }
        guard let userID = UUID(uuidString: userText) else { throw PlatformError.invalidUserID }
        var projectID: UUID?
        if let text = request.parameter("projectId") {
            guard let id = UUID(uuidString: text) else { throw PlatformError.projectNotFound }
            projectID = id
        }
        guard try NonceStore.firstUse(of: proof.replayKey, database: context.database) else {
            throw SignatureFailure.replayed
        }
        let (caller, project) = try PlatformCaller.load(userID, project: projectID, database: context.database)
        if projectID != nil, project == nil { throw PlatformError.projectNotFound }
        if admin, !caller.isAdmin { throw PlatformError.adminRequired }
        let decoded: Input
        do {
            decoded = try input.get()
        } catch {
            throw Request.invalidJSON(error)
        }
        return PlatformCall(
            request: request, caller: caller, input: decoded, project: project, connectionChoice: try choice.get(),
            logger: request.logger)
    }
}
