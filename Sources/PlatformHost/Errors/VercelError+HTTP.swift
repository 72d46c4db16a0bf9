import FastCGI
import Kernel
import Platform
import Vercel

/// How a failed Vercel call reaches the platform's frontend: the codes it already handles
/// (`AUTH_REQUIRED`, `RATE_LIMITED` with `retryAfter`), and for the rest Vercel's own code and
/// message beside ours. Never a token: none of these texts holds one.
extension VercelError: HTTPResponseError {
    public var status: Int {
        switch self {
        case .unauthorized: 401
        case .forbidden: 403
        case .rateLimited: 429
        case .circuitOpen, .busy: 503
        case .unreachable(.timedOut), .outOfTime: 504
        case .unreachable, .invalidResponse, .missingFiles: 502
        case .api(let status, _, _):
            switch status {
            case 404: 404
            case 409: 409
            case 400, 422: 422
            case 403: 403
            default: 502
            }
        }
    }

    public var extraFields: [String: JSONValue] {
        switch self {
        case .unauthorized: ["action": "RECONNECT"]
        case .forbidden(let scope, _): ["requiredScope": .string(scope), "action": "RECONNECT"]
        case .rateLimited(let wait), .circuitOpen(let wait), .busy(let wait):
            ["retryAfter": .integer(Self.seconds(wait))]
        case .api(let status, let code, _): ["vercelCode": .string(code), "vercelStatus": .integer(status)]
        default: [:]
        }
    }

    public var headers: [(String, String)] {
        switch self {
        case .rateLimited(let wait), .circuitOpen(let wait), .busy(let wait): [("Retry-After", "\(Self.seconds(wait))")]
        default: []
        }
    }

    /// Whole seconds, rounded up, at least 1.
    static func seconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return max(1, Int(seconds) + (attoseconds > 0 ? 1 : 0))
    }
}
