import Foundation
import Platform
import PlatformHost
import Testing

@Suite struct RefusedDeliveriesTests {
    /// The first refusal is due at once; the rest of the minute's wait and go with the first one
    /// after it; repositories count apart; past the capacity the oldest is forgotten.
    @Test func refusalsAreWrittenAtMostOnceAnIntervalWithWhatCameBefore() {
        let counter = RefusedDeliveries(interval: .seconds(60), capacity: 2)
        let start = ContinuousClock.now
        let (a, b, c) = (UUID(), UUID(), UUID())
        #expect(counter.count([a], now: start).map(\.count) == [1])
        for second in 1...30 { #expect(counter.count([a], now: start + .seconds(second)).isEmpty) }
        let due = counter.count([a, b], now: start + .seconds(61))
        #expect(due.map(\.id) == [a, b] && due.map(\.count) == [31, 1])
        #expect(counter.count([a], now: start + .seconds(62)).isEmpty)
        // c pushes out the oldest written (b's write at 61 s is as old as a's; either goes).
        #expect(counter.count([c], now: start + .seconds(63)).map(\.count) == [1])
        #expect(counter.count([c], now: start + .seconds(64)).isEmpty)
    }
}
