import Vercel

extension PlatformError {
    /// The stable code the answer carries, as the frontend tests for it.
    public var code: String { parts.code }
    /// What the answer tells a person.
    public var message: String { parts.message }

    private var parts: (code: String, message: String) {
        switch self {
        case .userIDRequired: ("USER_ID_REQUIRED", "userId is required")
        case .invalidUserID: ("INVALID_USER_ID", "userId must be a UUID")
        case .userNotFound: ("USER_NOT_FOUND", "No such user")
        case .adminRequired: ("ADMIN_REQUIRED", "This route is for administrators")
        case .projectNotFound: ("PROJECT_NOT_FOUND", "No such project")
        case .projectNotLinked: ("PROJECT_NOT_LINKED", "This project is not linked to Vercel")
        case .authRequired: ("AUTH_REQUIRED", "Connect your Vercel account")
        case .insufficientScope:
            ("INSUFFICIENT_SCOPE", "Your Vercel connection does not allow this; reconnect to grant it")
        case .invalidConnectionID: ("INVALID_CONNECTION_ID", "connectionId must be a UUID")
        case .invalidTeamID: ("INVALID_TEAM_ID", "teamId is not a Vercel team id")
        case .connectionAmbiguous:
            ("CONNECTION_AMBIGUOUS", "You have several Vercel connections; say which with connectionId or teamId")
        case .databaseUnavailable: ("DATABASE_UNAVAILABLE", "The database is unavailable; try again shortly")
        case .databaseTimeout: ("DATABASE_TIMEOUT", "The database did not answer in time")
        case .vercelNotConfigured: ("VERCEL_NOT_CONFIGURED", "The Vercel integration is not configured")
        case .invalidLimit(let range): ("INVALID_LIMIT", "limit must be \(range.lowerBound) to \(range.upperBound)")
        case .invalidCursor: ("INVALID_CURSOR", "cursor is not one this list gave")
        }
    }
}

extension VercelError {
    /// The stable code a failed Vercel call is answered with: one the frontend handles
    /// (`AUTH_REQUIRED`, `RATE_LIMITED`…), else `VERCEL_*` by Vercel's status.
    public var code: String {
        switch self {
        case .unauthorized: "AUTH_REQUIRED"
        case .forbidden: "INSUFFICIENT_SCOPE"
        case .rateLimited: "RATE_LIMITED"
        case .circuitOpen: "CIRCUIT_OPEN"
        case .busy: "UPSTREAM_BUSY"
        case .unreachable(.timedOut), .outOfTime: "VERCEL_TIMEOUT"
        case .unreachable: "VERCEL_UNREACHABLE"
        case .invalidResponse, .missingFiles: "VERCEL_INVALID_RESPONSE"
        case .api(let status, _, _):
            switch status {
            case 404: "VERCEL_NOT_FOUND"
            case 409: "VERCEL_CONFLICT"
            case 400, 422: "VERCEL_REJECTED"
            case 403: "VERCEL_FORBIDDEN"
            default: "VERCEL_ERROR"
            }
        }
    }

    /// What the answer tells a person; never a token.
    public var message: String {
        switch self {
        case .unauthorized: "Vercel no longer accepts this connection; reconnect your Vercel account"
        case .forbidden: "Your Vercel connection does not allow this; reconnect to grant it"
        case .rateLimited: "Vercel is rate limiting this account; try again later"
        case .circuitOpen: "Vercel has been failing for this connection; calls are paused briefly"
        case .busy: "Vercel is still answering this connection's earlier calls; try again shortly"
        case .unreachable(.timedOut): "Vercel did not answer in time"
        case .outOfTime: "This request ran out of time before Vercel answered; try again"
        case .unreachable: "Vercel could not be reached"
        case .invalidResponse, .missingFiles: "Vercel answered in a way this service does not understand"
        case .api(_, _, let message): message
        }
    }
}
