#if canImport(FoundationEssentials)
import Kernel
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
