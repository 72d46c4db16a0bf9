import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The refused git deliveries of each configured repository, added up in the process: the first
/// refusal after a quiet `interval` is written at once with what came before it, the rest of the
/// interval's wait for the next one. A flood of forged deliveries for a repository costs one
/// database write a minute, not one each; every refusal is counted on `/metrics` at once.
public final class RefusedDeliveries: Sendable {
    public static let shared = RefusedDeliveries()

    /// The shortest time between two writes for one repository.
    public let interval: Duration
    /// The most repositories remembered; past it the oldest is forgotten (its count unwritten).
    public let capacity: Int
    private let state = Mutex<[UUID: Entry]>([:])

    private struct Entry {
        var pending: Int64
        var written: ContinuousClock.Instant
    }

    public init(interval: Duration = .seconds(60), capacity: Int = 10_000) {
        self.interval = interval
        self.capacity = capacity
    }

    /// Counts one refusal for each of `credentialIDs`; returns the counts due to be written now.
    public func count(
        _ credentialIDs: [UUID], now: ContinuousClock.Instant = .now
    ) -> [(id: UUID, count: Int64)] {
        state.withLock { entries in
            var due: [(id: UUID, count: Int64)] = []
            for id in credentialIDs {
                if var entry = entries[id] {
                    entry.pending += 1
                    if now - entry.written >= interval {
                        due.append((id, entry.pending))
                        entry = Entry(pending: 0, written: now)
                    }
                    entries[id] = entry
                } else {
                    if entries.count >= capacity, let oldest = entries.min(by: { $0.value.written < $1.value.written })
                    {
                        entries[oldest.key] = nil
                    }
                    entries[id] = Entry(pending: 0, written: now)
                    due.append((id, 1))
                }
            }
            return due
        }
    }
}
