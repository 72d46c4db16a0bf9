import Foundation

/// Just enough of a FastCGI client (FastCGI 1.0) to send one request over a unix socket and read
/// the reply, for tests that drive a function process without nginx.
public enum FastCGIClient {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Sends a GET for `uri` and returns the CGI output (headers and body) once the request ends.
    public static func get(socket path: String, uri: String, timeout: TimeInterval = 10) throws -> String {
        try send(socket: path, uri: uri, timeout: timeout).reply()
    }

    /// A request already written to its connection, whose reply is still to be read (by one reader
    /// at a time).
    public final class Pending: @unchecked Sendable {
        let fd: Int32

        init(fd: Int32) { self.fd = fd }
        deinit { close(fd) }

        /// One record as the server wrote it (FastCGI 1.0, section 3.3).
        public struct Record: Sendable {
            public let version: UInt8
            public let type: UInt8
            public let requestID: UInt16
            public let content: [UInt8]
            public let padding: Int
        }

        /// Reads every record the server writes until, and with, its END_REQUEST.
        public func records() throws -> [Record] {
            var records: [Record] = []
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if count <= 0 { throw Failure(description: "connection ended before END_REQUEST") }
                received += buffer[0..<count]
                while received.count >= 8 {
                    let length = Int(received[4]) << 8 | Int(received[5])
                    let total = 8 + length + Int(received[6])
                    guard received.count >= total else { break }
                    records.append(
                        Record(
                            version: received[0], type: received[1],
                            requestID: UInt16(received[2]) << 8 | UInt16(received[3]),
                            content: Array(received[8..<(8 + length)]), padding: Int(received[6])))
                    received.removeFirst(total)
                    if records.last?.type == 3 { return records }
                }
            }
        }

        /// Whether the server closes the connection after its reply, waiting up to the send's
        /// timeout; false when the connection stays open that long.
        public func closedByServer() -> Bool {
            var byte: UInt8 = 0
            let count = read(fd, &byte, 1)
            return count == 0 || (count < 0 && errno == ECONNRESET)
        }

        /// Whether the server has written anything, or closed the connection, by now.
        public var hasReply: Bool {
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            return poll(&entry, 1, 0) > 0
        }

        /// Reads the CGI output until the server ends the request.
        public func reply() throws -> String {
            String(decoding: try records().filter { $0.type == 6 }.flatMap(\.content), as: UTF8.self)
        }
    }

    /// Connects and writes a GET for `uri`; the reply is read later with `Pending.reply()`.
    /// `betweenRecords`, when given, runs after the BEGIN_REQUEST record is written and before the
    /// rest: a peer slow to send its request.
    public static func send(
        socket path: String, uri: String, parameters extra: [(String, String)] = [], timeout: TimeInterval = 10,
        keepConnection: Bool = false, betweenRecords: (() throws -> Void)? = nil
    ) throws -> Pending {
        let fd = try connect(path)
        let pending = Pending(fd: fd)
        var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var out: [UInt8] = []
        // BEGIN_REQUEST, role RESPONDER, flags FCGI_KEEP_CONN or none
        out += record(type: 1, content: [0, 1, keepConnection ? 1 : 0, 0, 0, 0, 0, 0])
        if let betweenRecords {
            try write(out, to: fd)
            try betweenRecords()
            out = []
        }
        var params: [UInt8] = []
        for (name, value) in [("REQUEST_METHOD", "GET"), ("REQUEST_URI", uri), ("CONTENT_LENGTH", "0")] + extra {
            params += length(name.utf8.count) + length(value.utf8.count) + Array(name.utf8) + Array(value.utf8)
        }
        out += record(type: 4, content: params) + record(type: 4, content: [])  // PARAMS
        out += record(type: 5, content: [])  // STDIN, empty
        try write(out, to: fd)
        return pending
    }

    private static func write(_ bytes: [UInt8], to fd: Int32) throws {
        guard bytes.withUnsafeBytes({ Foundation.write(fd, $0.baseAddress, $0.count) }) == bytes.count else {
            throw Failure(description: "write failed")
        }
    }

    /// A name-value length as FastCGI writes it: one byte up to 127, else four with the high bit set.
    static func length(_ count: Int) -> [UInt8] {
        count < 128
            ? [UInt8(count)]
            : [
                UInt8(0x80 | (count >> 24) & 0x7f), UInt8((count >> 16) & 0xff), UInt8((count >> 8) & 0xff),
                UInt8(count & 0xff),
            ]
    }

    /// Whether a connection to `path` is accepted now.
    public static func accepts(socket path: String) -> Bool {
        guard let fd = try? connect(path) else { return false }
        close(fd)
        return true
    }

    private static func connect(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket failed") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw Failure(description: "path too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Foundation.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            close(fd)
            throw Failure(description: "connect failed")
        }
        return fd
    }

    private static func record(type: UInt8, content: [UInt8]) -> [UInt8] {
        [1, type, 0, 1, UInt8(content.count >> 8), UInt8(content.count & 0xff), 0, 0] + content
    }
}
