internal import CFastCGI
import Kernel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// One accepted FastCGI request: its parameters, its body stream and its output stream. Valid until
/// the worker finishes the request; nothing here may be kept past that.
public final class FastCGIExchange {
    private let request: UnsafeMutablePointer<FCGX_Request>
    private var headWritten = false

    init(request: UnsafeMutablePointer<FCGX_Request>) {
        self.request = request
    }

    /// The CGI parameter `name`, copied out of libfcgi's storage (the first, if nginx repeated it).
    public func parameter(_ name: String) -> String? {
        FCGX_GetParam(name, request.pointee.envp).map { String(cString: $0) }
    }

    /// The `HTTP_*` parameters as headers: `HTTP_X_SHEEN_NONCE` becomes `x-sheen-nonce`.
    public func headers() -> HTTPHeaders {
        var headers = HTTPHeaders()
        guard var cursor = request.pointee.envp else { return headers }
        while let entry = cursor.pointee {
            cursor += 1
            guard entry[0] == 0x48, entry[1] == 0x54, entry[2] == 0x54, entry[3] == 0x50, entry[4] == 0x5f else {
                continue
            }
            let length = strlen(entry)
            entry.withMemoryRebound(to: UInt8.self, capacity: length) { bytes in
                let buffer = UnsafeBufferPointer(start: bytes + 5, count: length - 5)
                guard let equals = buffer.firstIndex(of: UInt8(ascii: "=")) else { return }
                let name = String(decoding: buffer[..<equals].lazy.map(Self.headerByte), as: UTF8.self)
                headers.append(
                    name: name,
                    value: String(decoding: UnsafeBufferPointer(rebasing: buffer[(equals + 1)...]), as: UTF8.self))
            }
        }
        return headers
    }

    /// `HTTP_` parameter names are upper case with `_` for `-`.
    static func headerByte(_ byte: UInt8) -> UInt8 {
        switch byte {
        case UInt8(ascii: "_"): UInt8(ascii: "-")
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): byte + 32
        default: byte
        }
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
        parameter("CONTENT_LENGTH").flatMap(Int.init) ?? 0
    }

    /// Reads the whole body, refusing more than `limit` bytes.
    /// - Throws: `HTTPError.payloadTooLarge` when the declared or the actual length passes the limit.
    public func readBody(limit: Int) throws -> [UInt8] {
        let declared = contentLength
        if declared > limit { throw HTTPError.payloadTooLarge(limit: limit) }
        guard declared > 0 else { return [] }
        var body = [UInt8](repeating: 0, count: declared)
        var filled = 0
        while filled < declared {
            let count = body.withUnsafeMutableBytes { raw in
                FCGX_GetStr(
                    raw.baseAddress!.assumingMemoryBound(to: CChar.self) + filled, Int32(declared - filled),
                    request.pointee.in)
            }
            if count <= 0 { break }
            filled += Int(count)
        }
        // nginx sends exactly CONTENT_LENGTH bytes; anything short means the client went away.
        guard filled == declared else {
            throw HTTPError.badRequest("The request body ended early", code: "INCOMPLETE_BODY")
        }
        return body
    }

    /// Writes the CGI response head: `Status:` then the headers.
    public func writeHead(status: Int, headers: [(String, String)]) {
        guard !headWritten else { return }
        headWritten = true
        var head: [UInt8] = []
        head.reserveCapacity(256)
        head.append(contentsOf: HTTPStatus.line(status))
        for (name, value) in headers where !Self.unsafeHeader(name, value) {
            Self.append(name, to: &head)
            head.append(UInt8(ascii: ":"))
            head.append(UInt8(ascii: " "))
            Self.append(value, to: &head)
            head.append(13)
            head.append(10)
        }
        head.append(13)
        head.append(10)
        put(head)
    }

    private static func append(_ text: String, to bytes: inout [UInt8]) {
        if text.utf8.withContiguousStorageIfAvailable({ bytes.append(contentsOf: $0) }) == nil {
            bytes.append(contentsOf: Array(text.utf8))
        }
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
        bytes.withUnsafeBufferPointer { put($0) }
    }

    @discardableResult
    private func put(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return true }
        let written = base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
            FCGX_PutStr($0, Int32(bytes.count), request.pointee.out)
        }
        return written == Int32(bytes.count)
    }

    /// A header that would split the head: CR or LF anywhere, or a colon in the name.
    private static func unsafeHeader(_ name: String, _ value: String) -> Bool {
        let badName =
            name.utf8.withContiguousStorageIfAvailable {
                $0.contains { $0 == 13 || $0 == 10 || $0 == UInt8(ascii: ":") }
            }
            ?? name.utf8.contains { $0 == 13 || $0 == 10 || $0 == UInt8(ascii: ":") }
        let badValue =
            value.utf8.withContiguousStorageIfAvailable { $0.contains { $0 == 13 || $0 == 10 } }
            ?? value.utf8.contains { $0 == 13 || $0 == 10 }
        return badName || badValue
    }
}

/// Reason phrases for the statuses this service sends.
enum HTTPStatus {
    private static let ok = Array("Status: 200 OK\r\n".utf8)

    /// The CGI `Status:` line of `status`, CRLF included.
    static func line(_ status: Int) -> [UInt8] {
        status == 200 ? ok : Array("Status: \(status) \(reason(status))\r\n".utf8)
    }

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
