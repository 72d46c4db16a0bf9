import Kernel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The breakers of every connection: the state machine of `CircuitBreaker` over states kept in a
/// `CircuitBreakerStorage`, so every process on every host sees the same state.
///
/// A caller may hand in the snapshot it already read (the credentials of a request read it with
/// the token): a call that changes nothing then costs no round trip, and a stale snapshot only
/// costs a compare-and-swap that fails and is retried on a fresh read.
public struct CircuitBreakers {
    public let breaker: CircuitBreaker
    private let storage: any CircuitBreakerStorage

    /// A stored state and the version that a compare-and-swap names.
    public struct Snapshot: Sendable, Equatable {
        public var state: CircuitBreaker.State
        public var version: String

        public init(state: CircuitBreaker.State, version: String) {
            self.state = state
            self.version = version
        }
    }

    /// Thrown when other writers kept changing a state for ten attempts in a row.
    public struct Contention: Error {}

    public init(breaker: CircuitBreaker, storage: any CircuitBreakerStorage) {
        self.breaker = breaker
        self.storage = storage
    }

    /// Whether a call for `connection` may go now.
    public func admit(_ connection: UUID, known: inout Snapshot?, now: Date = Date()) throws -> CircuitBreaker.Admission
    {
        try update(connection, known: &known) { breaker.admit($0, now: now) }
    }

    /// Records how a call for `connection` ended.
    public func record(
        _ result: CircuitBreaker.Result, for connection: UUID, known: inout Snapshot?, now: Date = Date()
    ) throws {
        guard result != .neutral else { return }
        try update(connection, known: &known) { ((), breaker.record(result, $0, now: now)) }
    }

    /// The stored state of `connection` (closed when the connection is unknown).
    public func state(of connection: UUID) throws -> CircuitBreaker.State {
        try storage.load(connection)?.state ?? .closed
    }

    private func update<T>(
        _ connection: UUID, known: inout Snapshot?, _ transition: (CircuitBreaker.State) -> (T, CircuitBreaker.State)
    ) throws -> T {
        var current = known
        for _ in 0..<10 {
            if current == nil { current = try storage.load(connection) }
            guard let snapshot = current else { return transition(.closed).0 }
            let (value, next) = transition(snapshot.state)
            if next == snapshot.state {
                known = snapshot
                return value
            }
            if let written = try storage.replace(connection, expected: snapshot, with: next) {
                known = written
                if next.isOpen != snapshot.state.isOpen {
                    Metrics.shared.increment(.breakerTransitions, [next.isOpen ? "open" : "closed"])
                }
                return value
            }
            current = nil
        }
        throw Contention()
    }
}
