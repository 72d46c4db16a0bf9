import Foundation
import Kernel
import Testing
import Vercel

@Suite struct RetryPolicyTests {
    /// A generator that always answers the same fraction of the range, to pin jitter down.
    struct Fixed: RandomNumberGenerator {
        let value: UInt64
        mutating func next() -> UInt64 { value }
    }

    let policy = RetryPolicy(
        maxAttempts: 4, baseDelay: .milliseconds(100), maxDelay: .seconds(1), maxRetryAfter: .seconds(10))

    static let table: [(String, Bool, RetryPolicy.Outcome, Bool)] = [
        ("500 on GET", true, .response(status: 500, retryAfter: nil), true),
        ("503 on GET", true, .response(status: 503, retryAfter: nil), true),
        ("500 on POST", false, .response(status: 500, retryAfter: nil), false),
        ("429 on POST", false, .response(status: 429, retryAfter: .seconds(1)), true),
        ("404 on GET", true, .response(status: 404, retryAfter: nil), false),
        ("401 on GET", true, .response(status: 401, retryAfter: nil), false),
        ("timeout on GET", true, .transport(.timedOut), true),
        ("timeout on POST", false, .transport(.timedOut), false),
        ("refused on POST", false, .transport(.connectFailed("refused")), true),
        ("reset on POST", false, .transport(.failed("reset")), false),
        ("too large on GET", true, .transport(.responseTooLarge(10)), false),
    ]

    @Test(arguments: 0..<table.count)
    func retriesOnlyWhatIsSafeToRepeat(index: Int) {
        let (name, idempotent, outcome, retries) = Self.table[index]
        var random = SystemRandomNumberGenerator()
        let decision = policy.decide(attempt: 1, idempotent: idempotent, outcome: outcome, random: &random)
        if retries {
            guard case .retry = decision else {
                Issue.record("\(name): expected a retry, got \(decision)")
                return
            }
        } else {
            #expect(decision == .giveUp, "\(name)")
        }
    }

    @Test func aRetryAfterIsHonouredExactly() {
        var random = Fixed(value: 0)
        let decision = policy.decide(
            attempt: 1, idempotent: false, outcome: .response(status: 429, retryAfter: .seconds(2)), random: &random)
        #expect(decision == .retry(after: .seconds(2)))
    }

    @Test func aRetryAfterLongerThanWorthWaitingIsReportedNotSlept() {
        var random = Fixed(value: 0)
        let decision = policy.decide(
            attempt: 1, idempotent: true, outcome: .response(status: 429, retryAfter: .seconds(60)), random: &random)
        #expect(decision == .rateLimited(retryAfter: .seconds(60)))
    }

    @Test func attemptsStopAtTheMaximum() {
        var random = SystemRandomNumberGenerator()
        #expect(
            policy.decide(
                attempt: 4, idempotent: true, outcome: .response(status: 502, retryAfter: nil), random: &random)
                == .giveUp)
        #expect(
            policy.decide(
                attempt: 4, idempotent: true, outcome: .response(status: 429, retryAfter: .seconds(1)), random: &random)
                == .rateLimited(retryAfter: .seconds(1)))
    }

    @Test func backoffIsFullJitterUnderAnExponentialCeiling() {
        var random = SystemRandomNumberGenerator()
        for attempt in 1...6 {
            let ceiling = min(Duration.seconds(1), .milliseconds(100) * (1 << (attempt - 1)))
            for _ in 0..<200 {
                let wait = policy.backoff(attempt: attempt, random: &random)
                #expect(wait >= .zero && wait <= ceiling, "attempt \(attempt): \(wait)")
            }
        }
        var top = Fixed(value: .max)
        #expect(policy.backoff(attempt: 3, random: &top) == .milliseconds(400))
    }

    @Test func theWaitVercelAsksForIsReadFromItsHeaders() {
        let now = Date(timeIntervalSince1970: 1_790_000_000)
        #expect(
            RetryPolicy.requestedWait(in: HTTPResponse(status: 429, headers: [("retry-after", "2")]), now: now)
                == .seconds(2))
        #expect(
            RetryPolicy.requestedWait(
                in: HTTPResponse(status: 429, headers: [("x-ratelimit-reset", "1790000005")]), now: now) == .seconds(5))
        let date = HTTPResponse(status: 429, headers: [("retry-after", "Tue, 15 Sep 2026 14:13:23 GMT")])
        #expect(
            RetryPolicy.requestedWait(in: date, now: Date(timeIntervalSince1970: 1_789_481_600))
                == .seconds(1_789_481_603 - 1_789_481_600))
        #expect(RetryPolicy.requestedWait(in: HTTPResponse(status: 429), now: now) == nil)
    }

    /// Headers from outside never make the conversion to a duration trap: a wait is 0 to a day.
    @Test(arguments: [
        ("x-ratelimit-reset", "1e300"), ("x-ratelimit-reset", "inf"), ("x-ratelimit-reset", "nan"),
        ("x-ratelimit-reset", "-1e300"), ("retry-after", "9223372036854775807"),
        ("retry-after", "Tue, 15 Sep 99999999999999 14:13:23 GMT"),
        ("retry-after", "Tue, 99999999999 Sep 2026 14:13:23 GMT"),
        ("retry-after", "Tue, 15 Sep 2026 99999999999:13:23 GMT"),
    ])
    func anAbsurdRequestedWaitIsBoundedNotATrap(name: String, value: String) {
        let wait = RetryPolicy.requestedWait(
            in: HTTPResponse(status: 429, headers: [(name, value)]), now: Date(timeIntervalSince1970: 1_790_000_000))
        #expect(wait.map { $0 >= .zero && $0 <= .seconds(86_400) } ?? true)
    }
}
