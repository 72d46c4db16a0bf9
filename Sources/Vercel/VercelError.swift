import Kernel

/// Why a Vercel call failed, as callers need to tell it apart. No case ever holds a token: the
/// texts come from Vercel's error body or the transport.
public enum VercelError: Error, Equatable, Sendable {
    /// Vercel answered with an error: its status, `error.code` and `error.message`.
    case api(status: Int, code: String, message: String)
    /// The token is not (or no longer) valid: a 401, or a 403 that Vercel marks `invalidToken`.
    case unauthorized(status: Int, message: String)
    /// A 403 on a call that needs `requiredScope`: the connection lacks that permission.
    case forbidden(requiredScope: String, message: String)
    /// A deployment named files Vercel does not have yet: their SHA-1s (`error.missing`).
    case missingFiles([String])
    /// Rate limited for longer than a request should wait.
    case rateLimited(retryAfter: Duration)
    /// The connection's circuit breaker is open: Vercel failed repeatedly; not called.
    case circuitOpen(retryAfter: Duration)
    /// The connection has as many calls in flight in this process as its bulkhead allows; not called.
    case busy(retryAfter: Duration)
    /// No answer: connection refused, timed out, or cut.
    case unreachable(HTTPTransportError)
    /// The time budget of the request the call was for was spent first: not called (or not again).
    case outOfTime
    /// An answer that is not the JSON the endpoint documents.
    case invalidResponse(String)
}

extension VercelError {
    /// Whether Vercel surely made nothing: it refused the call, or the call was never made. A call
    /// with no answer (or one not understood) may have made a deployment all the same.
    public var madeNothing: Bool {
        switch self {
        case .api(let status, _, _): status < 500
        case .unauthorized, .forbidden, .missingFiles, .rateLimited, .circuitOpen, .busy, .outOfTime: true
        case .unreachable, .invalidResponse: false
        }
    }
}
