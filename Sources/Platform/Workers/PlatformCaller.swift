import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The user on whose behalf the platform's backend calls, once its signature has been verified.
public struct PlatformCaller: Sendable {
    public let userID: UUID
    public let isAdmin: Bool

    public init(userID: UUID, isAdmin: Bool) {
        self.userID = userID
        self.isAdmin = isAdmin
    }
}

/// A project of the caller's, with its Vercel link when it has one.
public struct OwnedProject: Sendable {
    public let id: UUID
    public let link: LinkedProject?
}

extension PlatformCaller {
    /// Loads the user, and the project `projectID` names with its link, in one statement. The
    /// project is nil unless the user owns it: a project of another user looks like none.
    public static func load(
        _ userID: UUID, project projectID: UUID?, database: PostgresConnection
    ) throws
        -> (caller: PlatformCaller, project: OwnedProject?)
    {
        let rows = try database.query(
            """
            SELECT u.role, p.id AS project_id, \(fragment: ProjectLinkStore.columns)
            FROM users u
            LEFT JOIN projects p ON p.id = \(projectID) AND p.owner_id = u.id
            LEFT JOIN vercel_project_mappings m ON m.project_id = p.id
            WHERE u.id = \(userID)
            """)
        guard let row = rows.first else { throw PlatformError.userNotFound }
        let caller = PlatformCaller(userID: userID, isAdmin: row["role"] == "admin")
        guard let id = try row.decodeIfPresent("project_id", as: UUID.self) else { return (caller, nil) }
        return (caller, OwnedProject(id: id, link: try ProjectLinkStore.linkedProject(id, row)))
    }
}
