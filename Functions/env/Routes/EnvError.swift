import FastCGI
import Kernel
import Platform
import PlatformHost

/// Every refusal of the `env` group, mapped to its status and code in one place.
enum EnvError: Error {
    case invalidVariable(EnvRules.Problem)
    case invalidTargets
    case invalidGitBranch
    case invalidDirection
    case invalidPatterns(String)
    case invalidResolutions
    case variableNotFound
    case syncInProgress
    case confirmationRequired(SyncAnswer)
    case confirmationInvalid
    case planStale(SyncAnswer)
}

extension EnvError: GroupRefusal {
    var parts: (status: Int, code: String, message: String) {
        switch self {
        case .invalidVariable(let problem):
            let code =
                switch problem {
                case .invalidKey: "INVALID_KEY"
                case .reservedKey, .systemKey: "RESERVED_KEY"
                case .valueTooLong: "VALUE_TOO_LONG"
                case .invalidTarget: "INVALID_TARGET"
                case .invalidType: "INVALID_TYPE"
                case .sensitiveOnDevelopment: "SENSITIVE_ON_DEVELOPMENT"
                }
            return (400, code, problem.description)
        case .invalidTargets:
            return (400, "INVALID_TARGET", "target must hold production, preview or development, once each")
        case .invalidGitBranch:
            return (
                400, "INVALID_GIT_BRANCH",
                "gitBranch is a git branch name (git check-ref-format) of 1 to 250 bytes, for the preview target alone"
            )
        case .invalidDirection:
            return (400, "INVALID_DIRECTION", "direction must be to_vercel, from_vercel or bidirectional")
        case .invalidPatterns(let reason):
            return (400, "INVALID_PATTERNS", reason)
        case .invalidResolutions:
            return (400, "INVALID_RESOLUTIONS", "resolutions map keys to platform or vercel (at most 1000)")
        case .variableNotFound: return (404, "VARIABLE_NOT_FOUND", "This project has no such variable")
        case .syncInProgress:
            return (409, "SYNC_IN_PROGRESS", "Another sync of this project's variables is running; try again shortly")
        case .confirmationRequired:
            return (
                409, "CONFIRMATION_REQUIRED",
                "A sync that changes production needs the confirmationToken of a dry run of the same plan"
            )
        case .confirmationInvalid:
            return (
                409, "CONFIRMATION_INVALID",
                "The confirmationToken is unknown, used, expired or for another sync; run a dry run again"
            )
        case .planStale:
            return (
                409, "SYNC_PLAN_STALE",
                "The variables changed since the dry run; here is the plan as it is now, with a new confirmationToken"
            )
        }
    }

    var extraFields: [String: JSONValue] {
        switch self {
        case .syncInProgress: ["retryAfter": 2]
        case .confirmationRequired(let answer), .planStale(let answer): answer.json
        default: [:]
        }
    }

    var headers: [(String, String)] {
        if case .syncInProgress = self { return [("Retry-After", "2")] }
        return []
    }
}
