import FastCGI
import Kernel

extension PlatformError: HTTPResponseError {
    public var status: Int { parts.status }
    public var code: String { parts.code }
    public var message: String { parts.message }

    private var parts: (status: Int, code: String, message: String) {
        switch self {
        case .userIDRequired: (400, "USER_ID_REQUIRED", "userId is required")
        case .invalidUserID: (400, "INVALID_USER_ID", "userId must be a UUID")
        case .userNotFound: (404, "USER_NOT_FOUND", "No such user")
        case .adminRequired: (403, "ADMIN_REQUIRED", "This route is for administrators")
        case .projectNotFound: (404, "PROJECT_NOT_FOUND", "No such project")
        case .projectNotLinked: (404, "PROJECT_NOT_LINKED", "This project is not linked to Vercel")
        case .authRequired: (401, "AUTH_REQUIRED", "Connect your Vercel account")
        case .insufficientScope:
            (403, "INSUFFICIENT_SCOPE", "Your Vercel connection does not allow this; reconnect to grant it")
        case .invalidConnectionID: (400, "INVALID_CONNECTION_ID", "connectionId must be a UUID")
        case .invalidTeamID: (400, "INVALID_TEAM_ID", "teamId is not a Vercel team id")
        case .connectionAmbiguous:
            (409, "CONNECTION_AMBIGUOUS", "You have several Vercel connections; say which with connectionId or teamId")
        case .databaseUnavailable: (503, "DATABASE_UNAVAILABLE", "The database is unavailable; try again shortly")
        case .databaseTimeout: (503, "DATABASE_TIMEOUT", "The database did not answer in time")
        case .vercelNotConfigured: (503, "VERCEL_NOT_CONFIGURED", "The Vercel integration is not configured")
        case .invalidLimit(let range):
            (400, "INVALID_LIMIT", "limit must be \(range.lowerBound) to \(range.upperBound)")
        }
    }

    public var extraFields: [String: JSONValue] {
        switch self {
        case .authRequired: ["action": "RECONNECT"]
        case .insufficientScope(let scope): ["requiredScope": .string(scope), "action": "RECONNECT"]
        case .invalidLimit(let range): ["min": .integer(range.lowerBound), "max": .integer(range.upperBound)]
        case .connectionAmbiguous(let options):
            [
                "connections": .array(
                    options.map { option in
                        .object([
                            "id": .string(option.id.uuidString.lowercased()),
                            "teamId": option.teamID.map { .string($0) } ?? .null,
                            "teamName": option.teamName.map { .string($0) } ?? .null,
                            "accountType": .string(option.accountType),
                        ])
                    })
            ]
        default: [:]
        }
    }

    public var headers: [(String, String)] {
        self == .databaseUnavailable ? [("Retry-After", "1")] : []
    }
}
