import Foundation

/// A GET over a plain TCP socket that records when each chunk of the reply arrived, for tests
/// that must see a response being streamed rather than delivered at the end.
public enum RawHTTP {
    public struct Arrival: Sendable {
        public let seconds: Double
        public let text: String
    }

    public static func get(
        host: String = "127.0.0.1", port: UInt16, path: String, headers: [String: String] = [:], timeout: Int = 15
    ) throws -> [Arrival] {
        try get(host: host, port: port, path: path, headers: headers, timeout: timeout, until: nil)
    }

    /// Reads the reply until `marker` has arrived (or `timeout` seconds have passed), then hangs up,
    /// as a reader that goes away does
    /// (`method` another than GET, for a route that must refuse it).
    public static func get(
        host: String = "127.0.0.1", port: UInt16, path: String, headers: [String: String] = [:], timeout: Int = 15,
        until marker: String?, method: String = "GET"
    ) throws -> [Arrival] {
        let fd = try connectTCP(host: host, port: port)
        defer { close(fd) }
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let extra = headers.map { "\($0.key): \($0.value)\r\n" }.joined()
        let request = Array("\(method) \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\(extra)\r\n".utf8)
        _ = request.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let start = Date()
        var arrivals: [Arrival] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        // `timeout` bounds each read and the whole reply: a stream's pings never keep it open longer.
        while Date().timeIntervalSince(start) < Double(timeout) {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            arrivals.append(
                Arrival(
                    seconds: Date().timeIntervalSince(start), text: String(decoding: buffer[0..<count], as: UTF8.self)))
            if let marker, arrivals.map(\.text).joined().contains(marker) { break }
        }
        return arrivals
    }

    /// A connected TCP socket to `host:port`.
    public static func connectTCP(host: String = "127.0.0.1", port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw FastCGIClient.Failure(description: "socket failed (errno \(errno))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        inet_pton(AF_INET, host, &address.sin_addr)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(fd)
            throw FastCGIClient.Failure(description: "connect failed (errno \(errno))")
        }
        return fd
    }

    /// Sends `raw` as it is and reads the whole reply (the request should say `Connection: close`).
    public static func exchange(
        host: String = "127.0.0.1", port: UInt16, raw: [UInt8], timeout: Int = 10
    ) throws -> String {
        let fd = try connectTCP(host: host, port: port)
        defer { close(fd) }
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = raw.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        var reply: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            reply += buffer[0..<count]
        }
        return String(decoding: reply, as: UTF8.self)
    }
}
