#if canImport(FoundationEssentials)
import Kernel
import FoundationEssentials
#else
import Foundation
#endif

/// When a Vercel call is tried again, and after how long. Pure: the caller supplies the outcome,
/// the clock and the random numbers.
///
/// - A 429 was not processed, so any call may repeat it, no sooner than Vercel asked
///   (`Retry-After`, else `X-RateLimit-Reset`, else backoff); a wait longer than
///   `maxRetryAfter` is not slept but reported to the caller as rate limiting.
/// - A 5xx or a lost response may have been processed: only idempotent calls repeat.
/// - A connection that was never made reached nobody: any call may repeat.
/// - Backoff is exponential with full jitter: a uniform wait in [0, min(maxDelay, base·2^(n-1))].
public struct RetryPolicy: Sendable, Equatable {
    public var maxAttempts: Int
    public var baseDelay: Duration
    public var maxDelay: Duration
    public var maxRetryAfter: Duration

    public init(
        maxAttempts: Int = 4, baseDelay: Duration = .milliseconds(250), maxDelay: Duration = .seconds(8),
        maxRetryAfter: Duration = .seconds(20)
    ) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.maxRetryAfter = maxRetryAfter
    }

    public enum Outcome: Sendable, Equatable {
        case response(status: Int, retryAfter: Duration?)
        case transport(HTTPTransportError)
    }

    public enum Decision: Sendable, Equatable {
        case retry(after: Duration)
        case giveUp
        /// Rate limited for longer than is worth waiting in a request.
        case rateLimited(retryAfter: Duration)
    }

    /// What to do after attempt number `attempt` (1-based) ended with `outcome`.
    public func decide(
        attempt: Int, idempotent: Bool, outcome: Outcome, random: inout some RandomNumberGenerator
    ) -> Decision {
        switch outcome {
        case .response(429, let retryAfter):
            let wait = retryAfter ?? backoff(attempt: attempt, random: &random)
            if wait > maxRetryAfter || attempt >= maxAttempts { return .rateLimited(retryAfter: wait) }
            return .retry(after: wait)
        case .response(let status, _) where status >= 500:
            guard idempotent, attempt < maxAttempts else { return .giveUp }
            return .retry(after: backoff(attempt: attempt, random: &random))
        case .response:
            return .giveUp
        case .transport(.connectFailed):
            guard attempt < maxAttempts else { return .giveUp }
            return .retry(after: backoff(attempt: attempt, random: &random))
        case .transport(.timedOut), .transport(.failed):
            guard idempotent, attempt < maxAttempts else { return .giveUp }
            return .retry(after: backoff(attempt: attempt, random: &random))
        case .transport(.responseTooLarge):
            return .giveUp
        }
    }

    /// A full-jitter wait for attempt `attempt`.
    public func backoff(attempt: Int, random: inout some RandomNumberGenerator) -> Duration {
        let ceiling = min(maxDelay, baseDelay * (1 << min(max(attempt - 1, 0), 20)))
        let ceilingMs = max(
            Int64(1), ceiling.components.seconds * 1000 + ceiling.components.attoseconds / 1_000_000_000_000_000)
        return .milliseconds(Int64.random(in: 0...ceilingMs, using: &random))
    }

    /// How long Vercel asked to wait: `Retry-After` (seconds or an HTTP date), else
    /// `X-RateLimit-Reset` (epoch seconds), else nil.
    /// A wait asked for is believed up to a day: the headers come from outside, and a larger (or
    /// infinite, or NaN) number must not trap when it is turned into a duration.
    public static let longestRequestedWait: Double = 86_400

    public static func requestedWait(in response: HTTPResponse, now: Date) -> Duration? {
        if let value = response.header("retry-after") {
            if let seconds = Int(value), seconds >= 0 { return wait(Double(seconds)) }
            if let date = HTTPDate.parse(value) { return wait(date.timeIntervalSince(now)) }
        }
        if let value = response.header("x-ratelimit-reset"), let reset = Double(value), reset.isFinite {
            return wait(reset - now.timeIntervalSince1970)
        }
        return nil
    }

    /// `seconds`, at least 0 and at most `longestRequestedWait`.
    private static func wait(_ seconds: Double) -> Duration {
        let bounded = seconds.isNaN ? 0 : min(max(0, seconds), longestRequestedWait)
        return .milliseconds(Int64(bounded * 1000))
    }
}
