import FastCGI
import Kernel
import Platform

extension PlatformError: HTTPResponseError {
    public var status: Int {
        switch self {
        case .userIDRequired, .invalidUserID, .invalidConnectionID, .invalidTeamID, .invalidLimit, .invalidCursor: 400
        case .authRequired: 401
        case .adminRequired, .insufficientScope: 403
        case .userNotFound, .projectNotFound, .projectNotLinked: 404
        case .connectionAmbiguous: 409
        case .databaseUnavailable, .databaseTimeout, .vercelNotConfigured: 503
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
