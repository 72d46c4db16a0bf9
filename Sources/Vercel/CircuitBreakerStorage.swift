#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Where each connection's breaker state lives, shared by every process that calls Vercel for it.
/// Updates are compare-and-swap: a write names the version it read and fails when another writer
/// got there first.
public protocol CircuitBreakerStorage {
    /// The stored state of `connection`; nil when the connection is unknown.
    func load(_ connection: UUID) throws -> CircuitBreakers.Snapshot?
    /// Stores `next` if `connection` still holds `expected`'s version: the new snapshot, or nil when
    /// another writer changed it meanwhile.
    func replace(
        _ connection: UUID, expected: CircuitBreakers.Snapshot, with next: CircuitBreaker.State
    ) throws
        -> CircuitBreakers.Snapshot?
}
