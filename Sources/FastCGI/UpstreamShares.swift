/// Who may have an upstream worker next: each tenant (a project, a user) holds at most `share`
/// workers at once, and the last `reserve` workers go only to tenants with nothing in flight whose
/// answers were not slow of late. A tenant Vercel answers slowly is thus kept to the workers
/// outside the reserve, and however many such tenants there are, the reserve stays for the
/// others. With fewer than four workers there is no reserve, and a tenant's share is at least one.
///
/// Pure bookkeeping, free of locks: `FastCGIServer`'s queue holds it under its own.
public struct UpstreamShares: Sendable {
    public private(set) var workers: Int
    public let reserve: Int
    public let share: Int
    /// An answer at least this slow keeps its tenant off the reserve for `slowFor`.
    public let slowAnswer: Duration
    public let slowFor: Duration

    public private(set) var busy = 0
    private var inFlight: [String: Int] = [:]
    private var slowUntil: [String: ContinuousClock.Instant] = [:]

    public init(
        workers: Int, slowAnswer: Duration = .seconds(1), slowFor: Duration = .seconds(30)
    ) {
        self.workers = max(0, workers)
        reserve = self.workers / 4
        share = max(1, (self.workers - reserve) / 2)
        self.slowAnswer = slowAnswer
        self.slowFor = slowFor
    }

    /// Whether `tenant`'s next request may have a worker now (one is free).
    public func mayStart(_ tenant: String, now: ContinuousClock.Instant) -> Bool {
        guard busy < workers else { return false }
        let held = inFlight[tenant, default: 0]
        guard held < share else { return false }
        if busy < workers - reserve { return true }
        return held == 0 && !isSlow(tenant, now: now)
    }

    /// A worker that faulted stays parked with its request counted as in flight for good; the one
    /// started in its place is counted beside it.
    public mutating func replaceFaultedWorker() {
        workers += 1
    }

    public mutating func start(_ tenant: String) {
        busy += 1
        inFlight[tenant, default: 0] += 1
    }

    public mutating func finish(_ tenant: String, after duration: Duration, now: ContinuousClock.Instant) {
        busy = max(0, busy - 1)
        let held = inFlight[tenant, default: 1] - 1
        inFlight[tenant] = held > 0 ? held : nil
        if duration >= slowAnswer {
            slowUntil[tenant] = now + slowFor
        } else if let until = slowUntil[tenant], until <= now {
            slowUntil[tenant] = nil
        }
        // Forget the marks that have run out, so the table holds only the tenants slow now.
        if slowUntil.count > 64 { slowUntil = slowUntil.filter { $0.value > now } }
    }

    public func isSlow(_ tenant: String, now: ContinuousClock.Instant) -> Bool {
        slowUntil[tenant].map { $0 > now } ?? false
    }

    /// How many tenants are kept off the reserve now.
    public func slowCount(now: ContinuousClock.Instant) -> Int {
        slowUntil.values.filter { $0 > now }.count
    }
}
