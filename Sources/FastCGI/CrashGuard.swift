internal import CFastCGIGuard

/// Keeps a fault in one handler from taking the process down (see `fastcgi_guard.c`): before each
/// handler runs, the 500 reply for its request is prepared; if the thread faults, that reply is
/// sent, the thread parks, and `FastCGIServer` starts a replacement worker.
enum CrashGuard {
    static func install() { sheen_guard_install() }

    static func prepareThread() { _ = sheen_guard_prepare_thread() }

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
}

/// The FastCGI records the guard writes by itself (FastCGI 1.0, section 3.3).
enum FastCGIRecord {
    private static let stdoutType: UInt8 = 6
    private static let endRequestType: UInt8 = 3

    /// `bytes` as FCGI_STDOUT records, followed by the empty record that closes the stream.
    static func stdout(_ bytes: [UInt8], requestID: UInt16) -> [UInt8] {
        var out: [UInt8] = []
        var rest = bytes[...]
        while !rest.isEmpty {
            let chunk = rest.prefix(65535)
            out += header(stdoutType, requestID: requestID, length: chunk.count) + chunk
            rest = rest.dropFirst(chunk.count)
        }
        return out + header(stdoutType, requestID: requestID, length: 0)
    }

    /// FCGI_END_REQUEST with application status 0 and FCGI_REQUEST_COMPLETE.
    static func end(requestID: UInt16) -> [UInt8] {
        header(endRequestType, requestID: requestID, length: 8) + [0, 0, 0, 0, 0, 0, 0, 0]
    }

    private static func header(_ type: UInt8, requestID: UInt16, length: Int) -> [UInt8] {
        [1, type, UInt8(requestID >> 8), UInt8(requestID & 0xff), UInt8(length >> 8), UInt8(length & 0xff), 0, 0]
    }
}
