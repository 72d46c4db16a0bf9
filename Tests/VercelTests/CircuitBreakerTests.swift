import Foundation
import Testing
import Vercel

@Suite struct CircuitBreakerTests {
    let breaker = CircuitBreaker(
        threshold: 5, baseCooldown: .seconds(10), maxCooldown: .seconds(60), probeTimeout: .seconds(5))
    let start = Date(timeIntervalSince1970: 1_790_000_000)

    func failures(_ count: Int, from state: CircuitBreaker.State = .closed) -> CircuitBreaker.State {
        (0..<count).reduce(state) { current, _ in breaker.record(.failure, current, now: start) }
    }

    @Test func itOpensOnExactlyTheFifthConsecutiveFailure() {
        let four = failures(4)
        #expect(!four.isOpen)
        #expect(breaker.admit(four, now: start).0 == .allowed)
        let five = breaker.record(.failure, four, now: start)
        #expect(five.isOpen)
        #expect(breaker.admit(five, now: start.addingTimeInterval(1)).0 == .rejected(retryAfter: .seconds(9)))
    }

    @Test func aSuccessInBetweenResetsTheCount() {
        let state = breaker.record(.success, failures(4), now: start)
        #expect(!failures(4, from: state).isOpen)
        #expect(breaker.record(.neutral, failures(4), now: start) == failures(4))
    }

    @Test func afterTheCooldownOneProbeGoesAndTheOthersWait() {
        let open = failures(5)
        let later = start.addingTimeInterval(10)
        let (first, probing) = breaker.admit(open, now: later)
        #expect(first == .probe)
        #expect(breaker.admit(probing, now: later.addingTimeInterval(1)).0 == .rejected(retryAfter: .seconds(4)))
        // A probe that never reports back frees its place after the probe timeout.
        #expect(breaker.admit(probing, now: later.addingTimeInterval(5)).0 == .probe)
    }

    @Test func aSuccessfulProbeClosesTheCircuit() {
        let (_, probing) = breaker.admit(failures(5), now: start.addingTimeInterval(10))
        let closed = breaker.record(.success, probing, now: start.addingTimeInterval(11))
        #expect(closed == .closed)
        #expect(breaker.admit(closed, now: start.addingTimeInterval(11)).0 == .allowed)
    }

    @Test func eachFailedProbeDoublesTheCooldownUpToTheMaximum() {
        var state = failures(5)
        var now = start
        var cooldowns: [Double] = []
        for _ in 0..<5 {
            now = state.openUntil!
            let (admission, probing) = breaker.admit(state, now: now)
            #expect(admission == .probe)
            state = breaker.record(.failure, probing, now: now)
            cooldowns.append(state.openUntil!.timeIntervalSince(now))
        }
        #expect(cooldowns == [20, 40, 60, 60, 60])
    }

    @Test func theStateReadsTheSeedsDefaultAndRoundTripsThroughJSON() throws {
        let seed = try JSONDecoder().decode(
            CircuitBreaker.State.self, from: Data(#"{"consecutive_failures": 0, "is_open": false}"#.utf8))
        #expect(seed == .closed)
        let open = failures(5)
        let encoder = JSONEncoder()
        let decoded = try JSONDecoder().decode(CircuitBreaker.State.self, from: encoder.encode(open))
        #expect(decoded == open)
    }
}
