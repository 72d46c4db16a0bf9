import FastCGI
import Kernel
import Platform
import PlatformHost

/// Every refusal of the break-glass routes, mapped to its status and code in one place.
enum BreakglassError: Error {
    case invalidAccessLevel
    case invalidJustification
    case invalidConnections
    case unknownConnections
    case requestNotFound
    case dailyLimit(retryAfterSeconds: Int)
    case selfApproval
    case alreadyDecided
    case notPending(status: String)
    case notRequester
    case notExecutable(status: String)
    case recoveryNotAuthorized
    case noEscrow
    case invalidShare
    case recoveryFailed
    case recoveryInProgress
    case invalidStatus
    case signature(AdminKeyStore.Refusal)
    case invalidKeyChange
    case invalidPublicKey
    case invalidKeyProof
    case keyInUse
    case keyAlreadyEnrolled
    case noActiveKey
    case keyNotFound
    case ownKey
    case noQuorum

    init(_ refusal: BreakglassStore.Refusal) {
        switch refusal {
        case .notFound: self = .requestNotFound
        case .dailyLimit(let wait): self = .dailyLimit(retryAfterSeconds: wait)
        case .unknownConnections: self = .unknownConnections
        case .selfApproval: self = .selfApproval
        case .alreadyDecided: self = .alreadyDecided
        case .notPending(let status): self = .notPending(status: status)
        case .notRequester: self = .notRequester
        case .notExecutable(let status): self = .notExecutable(status: status)
        case .ownKey: self = .ownKey
        case .noQuorum: self = .noQuorum
        case .keyInUse: self = .keyInUse
        }
    }
}

extension BreakglassError: GroupRefusal {
    var parts: (status: Int, code: String, message: String) {
        switch self {
        case .invalidAccessLevel:
            (400, "INVALID_ACCESS_LEVEL", "accessLevel must be READ_METADATA, DECRYPT_TOKENS or EMERGENCY_RECOVERY")
        case .invalidJustification: (400, "INVALID_JUSTIFICATION", "justification must be 20 to 4000 characters")
        case .invalidConnections:
            (400, "INVALID_CONNECTIONS", "connectionIds must hold 1 to 50 connection ids for this access level")
        case .unknownConnections: (404, "CONNECTION_NOT_FOUND", "A connection of connectionIds does not exist")
        case .requestNotFound: (404, "REQUEST_NOT_FOUND", "No such break-glass request")
        case .dailyLimit:
            (
                429, "RATE_LIMITED",
                "At most \(BreakglassStore.dailyLimit) break-glass requests per requester in 24 hours"
            )
        case .selfApproval: (403, "SELF_APPROVAL", "A request is approved or denied by admins other than its requester")
        case .alreadyDecided: (409, "ALREADY_DECIDED", "You have already approved or denied this request")
        case .notPending(let status): (409, "REQUEST_NOT_PENDING", "This request is \(status), no longer pending")
        case .notRequester: (403, "NOT_REQUESTER", "Only the admin who made a request executes it")
        case .notExecutable(let status):
            (
                409, "REQUEST_NOT_EXECUTABLE",
                "Only an approved request is executed, once, inside its window; this one is \(status)"
            )
        case .recoveryNotAuthorized:
            (
                403, "RECOVERY_NOT_AUTHORIZED",
                "Key recovery needs an EMERGENCY_RECOVERY request executed in the last 30 minutes"
            )
        case .noEscrow: (404, "NO_ESCROW", "No key was put in escrow (vercel-keyescrow split) under this id")
        case .invalidShare: (400, "INVALID_SHARE", "share must be a share as vercel-keyescrow printed it (v1-xx-…)")
        case .recoveryFailed:
            (
                422, "RECOVERY_FAILED",
                "The shares do not give the escrowed key (one is wrong or corrupted); nothing was changed and the shares were discarded"
            )
        case .recoveryInProgress: (409, "RECOVERY_IN_PROGRESS", "The shares are being combined; ask again shortly")
        case .invalidStatus:
            (400, "INVALID_STATUS", "status must be pending, approved, executed, expired or denied")
        case .signature(let refusal): (403, refusal.rawValue, refusal.message)
        case .invalidKeyChange:
            (
                400, "INVALID_KEY_CHANGE",
                "An ADMIN_KEY request, and only one, carries keyChange with action enrol, rotate or revoke"
            )
        case .invalidPublicKey:
            (400, "INVALID_PUBLIC_KEY", "publicKey must be an Ed25519 public key, base64url (43 characters)")
        case .invalidKeyProof:
            (
                400, "INVALID_KEY_PROOF",
                "proof must be the new key's signature of its proof of possession (vercel-admin makes it)"
            )
        case .keyInUse: (409, "KEY_IN_USE", "This key is already enrolled, or was: use a new key")
        case .keyAlreadyEnrolled: (409, "KEY_ALREADY_ENROLLED", "You hold an active key: ask to rotate it instead")
        case .noActiveKey: (409, "NO_ACTIVE_KEY", "You hold no active key to rotate: ask to enrol one")
        case .keyNotFound: (404, "KEY_NOT_FOUND", "No active admin key has this fingerprint")
        case .ownKey: (403, "OWN_KEY", "A change to your own key is decided by the other admins")
        case .noQuorum:
            (
                409, "NO_QUORUM",
                "No other admin holds a key to approve this: enrol the first key on the host (vercel-admin enrol-first)"
            )
        }
    }

    var extraFields: [String: JSONValue] {
        switch self {
        case .dailyLimit(let wait): ["retryAfter": .integer(wait)]
        case .notPending(let status), .notExecutable(let status): ["status": .string(status)]
        default: [:]
        }
    }

    var headers: [(String, String)] {
        if case .dailyLimit(let wait) = self { return [("Retry-After", "\(wait)")] }
        return []
    }
}
