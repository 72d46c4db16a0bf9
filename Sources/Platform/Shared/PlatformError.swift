#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Refusals every platform route shares: who is calling, which project, which connection. Each
/// group has an enum of its own for the rest; `+HTTP` maps each to its status and code.
public enum PlatformError: Error, Equatable {
    case userIDRequired
    case invalidUserID
    case userNotFound
    case adminRequired
    /// No project by that id for this user; a project of another user looks the same.
    case projectNotFound
    case projectNotLinked
    /// The user has no usable Vercel connection (or not the one named).
    case authRequired
    case insufficientScope(String)
    case invalidConnectionID
    case invalidTeamID
    /// The user has several Vercel connections and the request did not say which.
    case connectionAmbiguous([ConnectionOption])
    case databaseUnavailable
    case databaseTimeout
    case vercelNotConfigured
    /// A `limit` outside the range the route takes; the answer names the range.
    case invalidLimit(ClosedRange<Int>)
    /// A page's cursor that no page of the list gave.
    case invalidCursor
}

/// One of the user's connections, as a request that must choose sees it.
public struct ConnectionOption: Sendable, Equatable {
    public let id: UUID
    public let teamID: String?
    public let teamName: String?
    public let accountType: String

    public init(id: UUID, teamID: String?, teamName: String?, accountType: String) {
        self.id = id
        self.teamID = teamID
        self.teamName = teamName
        self.accountType = accountType
    }
}
