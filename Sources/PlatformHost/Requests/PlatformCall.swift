import FastCGI
import Logging
import Platform

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One authenticated request of the platform's backend, as a handler receives it: the signature
/// checked and its nonce spent, the caller loaded, the project of the path owned by the caller
/// (with its Vercel link), the body decoded once into the route's input, and a logger that carries
/// the request id.
public struct PlatformCall<Input: Decodable> {
    public let request: Request
    public let caller: PlatformCaller
    public let input: Input
    /// The `:projectId` project, for routes that have one.
    public let project: OwnedProject?
    /// Which of the user's Vercel connections the request names (`connectionId` or `teamId`, in
    /// the query or the body), if any.
    public let connectionChoice: ConnectionChoice
    public let logger: Logger

    /// The correlation id, written on every row and log line of the request.
    public var requestID: String { request.requestID }

    /// The project of the path. Only routes with `:projectId` may ask.
    public var projectID: UUID {
        guard let project else { preconditionFailure("\(request.path) has no :projectId") }
        return project.id
    }

    /// The project's link to Vercel.
    /// - Throws: 404 `PROJECT_NOT_LINKED`.
    public func linkedProject() throws -> LinkedProject {
        guard let link = project?.link else { throw PlatformError.projectNotLinked }
        return link
    }

    /// The first value of query parameter `name`.
    public func query(_ name: String) -> String? { request.query(name) }

    /// The whole number in query parameter `name` (a page size, a window), nil when absent.
    /// - Throws: `refusal` when it is not a whole number in `range`.
    public func integer(_ name: String, in range: ClosedRange<Int>, else refusal: some Error) throws -> Int? {
        guard let text = query(name) else { return nil }
        guard let value = Int(text), range.contains(value) else { throw refusal }
        return value
    }

    /// The `limit` query parameter within `range`, `otherwise` when absent.
    /// - Throws: 400 `INVALID_LIMIT` naming the range.
    public func limit(in range: ClosedRange<Int>, otherwise: Int) throws -> Int {
        try integer("limit", in: range, else: PlatformError.invalidLimit(range)) ?? otherwise
    }

    /// The page's cursor in query parameter `name` (`cursor` unless the list names it otherwise),
    /// read by `parse`; nil when absent.
    /// - Throws: 400 `INVALID_CURSOR` when `parse` does not take it.
    public func cursor<Cursor>(_ name: String = "cursor", _ parse: (String) throws -> Cursor?) throws -> Cursor? {
        guard let text = query(name) else { return nil }
        guard let cursor = try parse(text) else { throw PlatformError.invalidCursor }
        return cursor
    }

    /// A path parameter of the route.
    public func parameter(_ name: String) -> String? { request.parameter(name) }
}

/// The input of a route that reads nothing but `userId`.
public struct NoInput: Decodable, Sendable {
    public init() {}
    public init(from decoder: any Decoder) throws {}
}

/// A connection a request names: by id, or by the Vercel team it is for.
public struct ConnectionChoice: Sendable, Equatable {
    public var connectionID: UUID?
    public var teamID: String?

    public init(connectionID: UUID? = nil, teamID: String? = nil) {
        self.connectionID = connectionID
        self.teamID = teamID
    }

    /// From the raw texts of `connectionId` and `teamId`.
    /// - Throws: 400 `INVALID_CONNECTION_ID` or `INVALID_TEAM_ID`.
    static func parse(connectionID: String?, teamID: String?) throws -> ConnectionChoice {
        var choice = ConnectionChoice()
        if let text = connectionID {
            guard let id = UUID(uuidString: text) else { throw PlatformError.invalidConnectionID }
            choice.connectionID = id
        }
        if let team = teamID {
            guard VercelIdentifier.isValid(team) else { throw PlatformError.invalidTeamID }
            choice.teamID = team
        }
        return choice
    }
}

/// A platform body: `userId` (and the connection chosen) beside the route's own fields, decoded in
/// one pass. The route's fields are kept as a result: who calls, and whether they own the project,
/// is answered before what is wrong with their input.
struct PlatformBody<Input: Decodable>: Decodable {
    let userID: String?
    let connectionID: String?
    let teamID: String?
    let input: Result<Input, any Error>

    private enum Keys: String, CodingKey { case userId, connectionId, teamId }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        userID = try container.decodeIfPresent(String.self, forKey: .userId)
        connectionID = try? container.decodeIfPresent(String.self, forKey: .connectionId)
        teamID = try? container.decodeIfPresent(String.self, forKey: .teamId)
        input = Result { try Input(from: decoder) }
    }
}
