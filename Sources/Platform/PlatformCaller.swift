import FastCGI
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Postgres

/// The user on whose behalf the platform's backend calls, once its signature has been verified.
public struct PlatformCaller: Sendable {
    public let userID: UUID
    public let isAdmin: Bool

    /// Reads `userId` from the query (GET, DELETE) or the JSON body (other methods) and loads the
    /// user. The value is covered by the signature in both places.
    static func resolve(_ request: Request, database: PostgresConnection) throws -> PlatformCaller {
        let text: String?
        if request.method == "GET" || request.method == "DELETE" || request.method == "HEAD" {
            text = request.query("userId")
        } else {
            text = try request.decodeJSON(UserField.self).userId
        }
        guard let text else { throw HTTPError.badRequest("userId is required", code: "USER_ID_REQUIRED") }
        guard let userID = UUID(uuidString: text) else {
            throw HTTPError.badRequest("userId must be a UUID", code: "INVALID_USER_ID")
        }
        let rows = try database.query("SELECT role FROM users WHERE id = \(userID)")
        guard let row = rows.first else { throw HTTPError.notFound("No such user", code: "USER_NOT_FOUND") }
        return PlatformCaller(userID: userID, isAdmin: row["role"] == "admin")
    }

    private struct UserField: Decodable {
        let userId: String?
    }
}

extension PlatformCaller {
    /// Throws 404 unless `projectID` names a project this caller owns; a project of another user is
    /// indistinguishable from one that does not exist.
    public func requireOwnership(of projectID: String, database: PostgresConnection) throws {
        guard let project = UUID(uuidString: projectID) else { throw Self.projectNotFound }
        let rows = try database.query("SELECT 1 AS owned FROM projects WHERE id = \(project) AND owner_id = \(userID)")
        guard !rows.isEmpty else { throw Self.projectNotFound }
    }

    static let projectNotFound = HTTPError.notFound("No such project", code: "PROJECT_NOT_FOUND")
}

extension Request {
    /// The `:projectId` of a project route, which `Router.platform` has already checked the caller owns.
    public func projectID() throws -> UUID {
        guard let id = parameter("projectId").flatMap(UUID.init(uuidString:)) else { throw PlatformCaller.projectNotFound }
        return id
    }
}
