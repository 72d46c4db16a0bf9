/// A deployment's lifecycle as Vercel reports it, and which moves are allowed:
/// QUEUED → INITIALIZING → BUILDING → READY | ERROR | CANCELED; any earlier state may also be
/// CANCELED or end in ERROR; READY may still become CANCELED; ERROR and CANCELED are terminal.
/// BLOCKED (a deployment held by a check) may go on to QUEUED, BUILDING or an end state.
public enum DeploymentState: String, Sendable, CaseIterable {
    case queued = "QUEUED"
    case initializing = "INITIALIZING"
    case building = "BUILDING"
    case ready = "READY"
    case error = "ERROR"
    case canceled = "CANCELED"
    case blocked = "BLOCKED"

    /// ERROR and CANCELED: no move leaves them.
    public var isFinal: Bool { self == .error || self == .canceled }

    /// READY, ERROR or CANCELED: the build has ended (a READY deployment may still be canceled).
    /// `VercelDeployment.isBuildOver` says the same of Vercel's answer.
    public var isBuildOver: Bool { self == .ready || isFinal }

    /// Where the state lies on the way to an end, to tell an older event from a newer one.
    var progress: Int {
        switch self {
        case .blocked: 0
        case .queued: 1
        case .initializing: 2
        case .building: 3
        case .ready: 4
        case .error, .canceled: 5
        }
    }

    /// Whether `self` may move to `next`.
    public func canMove(to next: DeploymentState) -> Bool {
        switch (self, next) {
        case (.error, _), (.canceled, _): false
        case (.ready, .canceled): true
        case (.ready, _): false
        case (_, .blocked): self == .queued
        case (_, .error), (_, .canceled): true
        default: next.progress > progress
        }
    }

    /// What to do with a report of `reported` when `self` is stored.
    public enum Decision: Equatable, Sendable {
        /// Store `reported`.
        case apply
        /// Already there, or an older report arriving late: keep what is stored.
        case keep
        /// A move the lifecycle does not allow: record it, do not apply it.
        case reject
    }

    public func decide(_ reported: DeploymentState) -> Decision {
        if reported == self { return .keep }
        if canMove(to: reported) { return .apply }
        // A report of a step that could have come before the stored one is merely late.
        if reported.canMove(to: self) { return .keep }
        return .reject
    }

    /// The state a deployment webhook type reports, nil for types that report none.
    public init?(webhookType type: String) {
        switch type {
        case "deployment.created": self = .queued
        case "deployment.succeeded", "deployment.ready": self = .ready
        case "deployment.error": self = .error
        case "deployment.canceled": self = .canceled
        case "deployment.blocked": self = .blocked
        default: return nil
        }
    }
}
