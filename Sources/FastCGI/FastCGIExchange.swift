internal import CFastCGI
import Foundation

/// One accepted FastCGI request: its parameters, its body stream and its output stream. Valid until
/// the worker finishes the request; nothing here may be kept past that.
public final class FastCGIExchange {
    /// Every CGI parameter nginx sent, copied out of libfcgi's storage at once.
    public let parameters: [String: String]
    private let request: UnsafeMutablePointer<FCGX_Request>
    private var headWritten = false

    init(request: UnsafeMutablePointer<FCGX_Request>) {
        self.request = request
        var parameters: [String: String] = [:]
        if var cursor = request.pointee.envp {
            while let entry = cursor.pointee {
                let text = String(cString: entry)
                if let equals = text.firstIndex(of: "=") {
                    let name = String(text[..<equals])
                    // libfcgi lookups return the first of repeated names; keep the same rule.
                    if parameters[name] == nil { parameters[name] = String(text[text.index(after: equals)...]) }
                }
                cursor += 1
            }
        }
        self.parameters = parameters
    }

    /// The connection to nginx, for the crash guard's last-resort reply.
    var connectionFD: Int32? {
        request.pointee.ipcFd >= 0 ? request.pointee.ipcFd : nil
    }

    /// The FastCGI request id of this exchange's records.
    var recordRequestID: UInt16? {
        UInt16(exactly: request.pointee.requestId)
    }

    /// The declared body length, 0 when absent.
    public var contentLength: Int {
        parameters["CONTENT_LENGTH"].flatMap(Int.init) ?? 0
    }

    /// Reads the whole body, refusing more than `limit` bytes.
    /// - Throws: `HTTPError.payloadTooLarge` as soon as the limit is passed.
    public func readBody(limit: Int) throws -> [UInt8] {
        if contentLength > limit { throw HTTPError.payloadTooLarge(limit: limit) }
        var body: [UInt8] = []
        body.reserveCapacity(min(contentLength, limit))
        var chunk = [CChar](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBufferPointer { FCGX_GetStr($0.baseAddress, Int32($0.count), request.pointee.in) }
            if count <= 0 { break }
            body.append(contentsOf: chunk[0..<Int(count)].map { UInt8(bitPattern: $0) })
            if body.count > limit { throw HTTPError.payloadTooLarge(limit: limit) }
        }
        return body
    }

    /// Writes the CGI response head: `Status:` then the headers.
    public func writeHead(status: Int, headers: [(String, String)]) {
        guard !headWritten else { return }
        headWritten = true
        var head = "Status: \(status) \(HTTPStatus.reason(status))\r\n"
        for (name, value) in headers where !Self.unsafeHeader(name, value) {
            head += "\(name): \(value)\r\n"
        }
        head += "\r\n"
        put(Array(head.utf8))
    }

    /// Writes body bytes; returns false when the connection to nginx is gone.
    @discardableResult
    public func writeBody(_ bytes: [UInt8]) -> Bool {
        put(bytes)
    }

    /// Pushes what was written so far to nginx (for streams).
    @discardableResult
    public func flush() -> Bool {
        FCGX_FFlush(request.pointee.out) == 0
    }

    @discardableResult
    private func put(_ bytes: [UInt8]) -> Bool {
        guard !bytes.isEmpty else { return true }
        let written = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { FCGX_PutStr($0.baseAddress, Int32($0.count), request.pointee.out) }
        }
        return written == Int32(bytes.count)
    }

    private static func unsafeHeader(_ name: String, _ value: String) -> Bool {
        name.contains(where: { $0 == "\r" || $0 == "\n" || $0 == ":" }) || value.contains(where: { $0 == "\r" || $0 == "\n" })
    }
}

/// Reason phrases for the statuses this service sends.
enum HTTPStatus {
    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 302: "Found"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 409: "Conflict"
        case 413: "Payload Too Large"
        case 422: "Unprocessable Content"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        default: "Status"
        }
    }
}
