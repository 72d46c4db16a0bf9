#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The circuit breaker of one Vercel connection, as a pure state machine over its stored state.
///
/// Closed, it counts consecutive failures (5xx and timeouts); the `threshold`-th opens it. Open,
/// calls fail fast until the cooldown ends; then one probe is let through (half-open) while the
/// others still fail fast. A successful probe closes it; a failed one opens it again for a cooldown
/// that doubles with every failed probe, up to `maxCooldown`. Any answer that shows Vercel is up
/// (2xx, 3xx, 4xx but 429) counts as a success.
public struct CircuitBreaker: Sendable, Equatable {
    public var threshold: Int
    public var baseCooldown: Duration
    public var maxCooldown: Duration
    /// How long a probe may stay out before another caller may probe instead.
    public var probeTimeout: Duration

    public init(
        threshold: Int = 5, baseCooldown: Duration = .seconds(30), maxCooldown: Duration = .seconds(600),
        probeTimeout: Duration = .seconds(60)
    ) {
        self.threshold = threshold
        self.baseCooldown = baseCooldown
        self.maxCooldown = maxCooldown
        self.probeTimeout = probeTimeout
    }

    /// What `vercel_connections.circuit_breaker_state` holds.
    public struct State: Codable, Sendable, Equatable {
        public var consecutiveFailures: Int
        public var isOpen: Bool
        /// While open: when the next probe may go.
        public var openUntil: Date?
        /// How many times in a row it opened: the cooldown grows with it.
        public var trips: Int
        /// While half-open: until when the probe in flight holds its place.
        public var probeUntil: Date?

        public static let closed = State(
            consecutiveFailures: 0, isOpen: false, openUntil: nil, trips: 0, probeUntil: nil)

        enum CodingKeys: String, CodingKey {
            case consecutiveFailures = "consecutive_failures"
            case isOpen = "is_open"
            case openUntil = "open_until"
            case trips
            case probeUntil = "probe_until"
        }

        public init(consecutiveFailures: Int, isOpen: Bool, openUntil: Date?, trips: Int, probeUntil: Date?) {
            self.consecutiveFailures = consecutiveFailures
            self.isOpen = isOpen
            self.openUntil = openUntil
            self.trips = trips
            self.probeUntil = probeUntil
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            consecutiveFailures = try container.decodeIfPresent(Int.self, forKey: .consecutiveFailures) ?? 0
            isOpen = try container.decodeIfPresent(Bool.self, forKey: .isOpen) ?? false
            openUntil = try container.decodeIfPresent(Date.self, forKey: .openUntil)
            trips = try container.decodeIfPresent(Int.self, forKey: .trips) ?? 0
            probeUntil = try container.decodeIfPresent(Date.self, forKey: .probeUntil)
        }
    }

    public enum Admission: Sendable, Equatable {
        case allowed
        /// The one call let through to test an open circuit.
        case probe
        case rejected(retryAfter: Duration)
    }

    public enum Result: Sendable, Equatable {
        case success
        case failure
        /// Says nothing about Vercel's health (429, a call never sent).
        case neutral
    }

    /// Whether a call may go now, and the state after deciding.
    public func admit(_ state: State, now: Date) -> (Admission, State) {
        guard state.isOpen else { return (.allowed, state) }
        if let openUntil = state.openUntil, now < openUntil {
            return (.rejected(retryAfter: Self.wait(until: openUntil, now: now)), state)
        }
        if let probeUntil = state.probeUntil, now < probeUntil {
            return (.rejected(retryAfter: Self.wait(until: probeUntil, now: now)), state)
        }
        var next = state
        next.probeUntil = now.addingTimeInterval(seconds(probeTimeout))
        return (.probe, next)
    }

    /// How long until `until`, at most a day: the state is read from storage, and a corrupted date
    /// must not trap.
    static func wait(until: Date, now: Date) -> Duration {
        .milliseconds(Int64(min(max(0, until.timeIntervalSince(now)), 86_400) * 1000))
    }

    /// The state after a call ended with `result`.
    public func record(_ result: Result, _ state: State, now: Date) -> State {
        switch result {
        case .neutral:
            return state
        case .success:
            return .closed
        case .failure:
            var next = state
            next.consecutiveFailures += 1
            next.probeUntil = nil
            if state.isOpen {
                next.trips += 1
                next.openUntil = now.addingTimeInterval(seconds(cooldown(trips: next.trips)))
            } else if next.consecutiveFailures >= threshold {
                next.isOpen = true
                next.trips = 1
                next.openUntil = now.addingTimeInterval(seconds(cooldown(trips: 1)))
            }
            return next
        }
    }

    /// `baseCooldown · 2^(trips-1)`, at most `maxCooldown`.
    public func cooldown(trips: Int) -> Duration {
        min(maxCooldown, baseCooldown * (1 << min(max(trips - 1, 0), 20)))
    }

    private func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
