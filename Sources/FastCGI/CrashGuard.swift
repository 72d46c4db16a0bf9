internal import CFastCGIGuard

/// Keeps a fault in one handler from taking the process down (see `fastcgi_guard.c`): before each
/// handler runs, the 500 reply for its request is prepared; if the thread faults, that reply is
/// sent, the thread parks, and `FastCGIServer` starts a replacement worker.
enum CrashGuard {
    static func install() { sheen_guard_install() }

    /// Readies the calling thread, a worker of `role`: a parked one is replaced by one of its role.
    static func prepareThread(_ role: WorkerRole) { _ = sheen_guard_prepare_thread(role.guardKind) }

    /// Arms the calling thread for `exchange`, answering with the standard 500 if it faults.
    static func arm(exchange: FastCGIExchange, requestID: String) {
        guard let fd = exchange.connectionFD, let id = exchange.recordRequestID else { return }
        _ = sheen_guard_arm_internal_error(fd, id, requestID)
    }

    /// Re-arms for a response whose head is already sent: a fault then only ends the request.
    static func armForStream(exchange: FastCGIExchange) {
        guard let fd = exchange.connectionFD, let id = exchange.recordRequestID else { return }
        _ = sheen_guard_arm_end_only(fd, id)
    }

    static func disarm() { sheen_guard_disarm() }

    /// Blocks until a worker parks after a fault; returns how many have parked in all.
    static func waitForParkedWorker() -> Int { Int(sheen_guard_wait_for_parked()) }

    /// How many workers of `role` have parked so far.
    static func parked(_ role: WorkerRole) -> Int { Int(sheen_guard_parked_of_kind(role.guardKind)) }
}
