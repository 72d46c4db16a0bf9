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
    case notImplemented
    case databaseUnavailable
    case databaseTimeout
    case vercelNotConfigured
}
