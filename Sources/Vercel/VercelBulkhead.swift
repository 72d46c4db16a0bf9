import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// How many calls to Vercel one connection may have in flight in this process at once. A slow
/// account then holds at most `limit` of the process's workers; its next caller waits up to `wait`
/// for one of them to finish and is otherwise refused (`VercelError.busy`), rather than take a
/// worker every other user needs.
public final class VercelBulkhead: Sendable {
    public let limit: Int
    public let wait: Duration
    private let inFlight = Mutex<[UUID: Int]>([:])

    public init(limit: Int, wait: Duration) {
        self.limit = max(1, limit)
        self.wait = wait
    }

    /// Takes a place for `connection`, waiting up to `wait`; false when none came free.
    public func enter(_ connection: UUID) -> Bool {
        let deadline = ContinuousClock.now + wait
        while true {
            let taken = inFlight.withLock { counts -> Bool in
                guard counts[connection, default: 0] < limit else { return false }
                counts[connection, default: 0] += 1
                return true
            }
            if taken { return true }
            guard ContinuousClock.now < deadline else { return false }
            usleep(5_000)
        }
    }

    public func leave(_ connection: UUID) {
        inFlight.withLock { counts in
            let left = counts[connection, default: 1] - 1
            counts[connection] = left > 0 ? left : nil
        }
    }

    /// Calls in flight for `connection` now.
    public func inFlight(_ connection: UUID) -> Int {
        inFlight.withLock { $0[connection, default: 0] }
    }
}
