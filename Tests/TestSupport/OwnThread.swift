import Foundation

/// Runs blocking work (a socket read, a synchronous HTTP call) on a thread of its own, so that it
/// does not hold one of the few threads every test's tasks share while it waits.
public func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
