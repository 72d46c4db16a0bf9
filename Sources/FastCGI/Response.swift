#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// An HTTP response: status, headers and either a whole body or a stream.
public struct Response: Sendable {
    public enum Body: Sendable {
        case bytes([UInt8])
        /// Written and flushed piece by piece (`text/event-stream`); the closure returns when done.
        case stream(@Sendable (ResponseStream) throws -> Void)
    }

    public var status: Int
    public var headers: [(String, String)]
    public var body: Body

    public init(status: Int, headers: [(String, String)] = [], body: Body = .bytes([])) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON response of an `Encodable` value.
    public static func json(_ value: some Encodable, status: Int = 200) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(ISO8601.format(date))
        }
        let body = (try? encoder.encode(value)).map { Array($0) } ?? Array("{}".utf8)
        return Response(status: status, headers: [("Content-Type", "application/json")], body: .bytes(body))
    }

    /// A JSON response of a `JSONValue`, serialized without Foundation's encoder.
    public static func json(_ value: JSONValue, status: Int = 200) -> Response {
        Response(status: status, headers: [("Content-Type", "application/json")], body: .bytes(value.serialized()))
    }

    /// A `text/event-stream` response; `produce` writes events until the stream should end.
    public static func eventStream(_ produce: @escaping @Sendable (ResponseStream) throws -> Void) -> Response {
        Response(
            status: 200,
            headers: [
                ("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache"), ("X-Accel-Buffering", "no"),
            ],
            body: .stream(produce))
    }
}

/// Where a streaming body is written. Each `send` reaches nginx at once.
public protocol ResponseStream {
    /// Writes `bytes` and flushes them; throws when the client is gone.
    func send(_ bytes: [UInt8]) throws
}

extension ResponseStream {
    /// Sends one server-sent event.
    public func sendEvent(_ data: String, event: String? = nil, id: String? = nil) throws {
        var text = ""
        if let id { text += "id: \(id)\n" }
        if let event { text += "event: \(event)\n" }
        for line in data.split(separator: "\n", omittingEmptySubsequences: false) { text += "data: \(line)\n" }
        try send(Array((text + "\n").utf8))
    }

    /// Sends an SSE comment, which keeps idle connections open.
    public func sendHeartbeat() throws {
        try send(Array(": keep-alive\n\n".utf8))
    }
}

/// ISO 8601 timestamps in UTC with milliseconds, as the API and the logs write them.
public enum ISO8601 {
    /// `2026-11-25T14:31:25.235Z`.
    /// An instant past the years 0001 to 9999 (or a NaN) is written `infinity` or `-infinity`
    /// rather than trap.
    public static func format(_ date: Date) -> String {
        let since1970 = date.timeIntervalSince1970
        guard (-62_135_596_800.0..<253_402_300_800.0).contains(since1970) else {
            return since1970 < 0 ? "-infinity" : "infinity"
        }
        let millis = Int64((since1970 * 1000).rounded(.down))
        var (seconds, fraction) = millis.quotientAndRemainder(dividingBy: 1000)
        if fraction < 0 {
            fraction += 1000
            seconds -= 1
        }
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        return "\(pad(Int(parts.tm_year) + 1900, 4))-\(pad(Int(parts.tm_mon) + 1, 2))-\(pad(Int(parts.tm_mday), 2))T"
            + "\(pad(Int(parts.tm_hour), 2)):\(pad(Int(parts.tm_min), 2)):\(pad(Int(parts.tm_sec), 2)).\(pad(Int(fraction), 3))Z"
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
}
