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
        // The request id is validated to [A-Za-z0-9._:-], so it needs no escaping in JSON or a header.
        let body = #"{"code":"INTERNAL_ERROR","error":"\#(HTTPApplication<Void>.internalErrorMessage)","requestId":"\#(requestID)"}"#
        let reply = "Status: 500 Internal Server Error\r\nContent-Type: application/json\r\nX-Request-ID: \(requestID)\r\n"
            + "Content-Length: \(body.utf8.count)\r\n\r\n" + body
        let records = FastCGIRecord.stdout(Array(reply.utf8), requestID: id) + FastCGIRecord.end(requestID: id)
        _ = records.withUnsafeBufferPointer { sheen_guard_arm(fd, $0.baseAddress, $0.count) }
    }

    /// Re-arms for a response whose head is already sent: a fault then only ends the request.
    static func armForStream(exchange: FastCGIExchange) {
        guard let fd = exchange.connectionFD, let id = exchange.recordRequestID else { return }
        let records = FastCGIRecord.end(requestID: id)
        _ = records.withUnsafeBufferPointer { sheen_guard_arm(fd, $0.baseAddress, $0.count) }
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
