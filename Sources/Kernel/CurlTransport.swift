internal import CCurl

#if canImport(Glibc)
import Glibc
#endif

/// `HTTPTransport` on libcurl: one easy handle, reused so connections to the same host stay open.
/// Blocking, as the FastCGI worker threads are. Not shared between threads.
public final class CurlTransport: HTTPTransport {
    /// The largest response body accepted.
    public let responseLimit: Int
    private let handle: UnsafeMutableRawPointer

    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    public init(responseLimit: Int = 32 << 20) {
        _ = Self.globalInit
        handle = curl_easy_init()!
        self.responseLimit = responseLimit
    }

    deinit { curl_easy_cleanup(handle) }

    /// What the callbacks fill in while one request runs.
    private final class Exchange {
        var body: [UInt8] = []
        var headers: [(String, String)] = []
        var upload: [UInt8]
        var uploaded = 0
        let limit: Int
        var overflowed = false
        /// Set while streaming: 2xx bodies go here instead of `body`.
        var onData: (([UInt8]) -> Bool)?
        var onTick: (() -> Bool)?
        var stopped = false
        var status = 0

        init(upload: [UInt8], limit: Int) {
            self.upload = upload
            self.limit = limit
        }
    }

    public func send(_ request: HTTPRequest) throws(HTTPTransportError) -> HTTPResponse {
        try perform(request, Exchange(upload: request.body, limit: responseLimit))
    }

    public func stream(
        _ request: HTTPRequest, onData: ([UInt8]) -> Bool, onTick: () -> Bool
    ) throws(HTTPTransportError) -> HTTPResponse {
        try withoutActuallyEscaping(onData) { onData throws(HTTPTransportError) in
            try withoutActuallyEscaping(onTick) { onTick throws(HTTPTransportError) in
                let exchange = Exchange(upload: request.body, limit: responseLimit)
                exchange.onData = onData
                exchange.onTick = onTick
                return try perform(request, exchange)
            }
        }
    }

    private func perform(_ request: HTTPRequest, _ exchange: Exchange) throws(HTTPTransportError) -> HTTPResponse {
        curl_easy_reset(handle)
        let context = Unmanaged.passUnretained(exchange).toOpaque()
        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headerList) }
        for (name, value) in request.headers {
            headerList = curl_slist_append(headerList, "\(name): \(value)")
        }
        // An empty Expect stops curl from waiting for "100 Continue" before sending a body.
        headerList = curl_slist_append(headerList, "Expect:")

        _ = sheen_curl_set_string(handle, CURLOPT_URL, request.url)
        _ = sheen_curl_set_string(handle, CURLOPT_CUSTOMREQUEST, request.method)
        _ = sheen_curl_set_long(handle, CURLOPT_NOSIGNAL, 1)
        _ = sheen_curl_set_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Int(request.connectTimeout.milliseconds))
        _ = sheen_curl_set_long(handle, CURLOPT_TIMEOUT_MS, Int(request.totalTimeout.milliseconds))
        _ = sheen_curl_set_long(handle, CURLOPT_FOLLOWLOCATION, 0)
        _ = sheen_curl_set_string(handle, CURLOPT_PROTOCOLS_STR, request.publicOnly ? "https" : "http,https")
        if request.publicOnly { _ = sheen_curl_refuse_private_addresses(handle) }
        var connectTo: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(connectTo) }
        if let target = request.connectTo {
            connectTo = curl_slist_append(nil, target)
            _ = sheen_curl_set_pointer(handle, CURLOPT_CONNECT_TO, UnsafeMutableRawPointer(connectTo))
        }
        _ = sheen_curl_set_pointer(handle, CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(headerList))
        _ = sheen_curl_set_callback(handle, CURLOPT_WRITEFUNCTION, Self.receiveBody)
        _ = sheen_curl_set_pointer(handle, CURLOPT_WRITEDATA, context)
        _ = sheen_curl_set_callback(handle, CURLOPT_HEADERFUNCTION, Self.receiveHeader)
        _ = sheen_curl_set_pointer(handle, CURLOPT_HEADERDATA, context)
        if exchange.onTick != nil { _ = sheen_curl_set_progress(handle, Self.tick, context) }
        if request.method == "HEAD" { _ = sheen_curl_set_long(handle, CURLOPT_NOBODY, 1) }
        if !request.body.isEmpty || ["POST", "PUT", "PATCH"].contains(request.method) {
            _ = sheen_curl_set_long(handle, CURLOPT_UPLOAD, 1)
            _ = sheen_curl_set_size(handle, CURLOPT_INFILESIZE_LARGE, curl_off_t(request.body.count))
            _ = sheen_curl_set_callback(handle, CURLOPT_READFUNCTION, Self.sendBody)
            _ = sheen_curl_set_pointer(handle, CURLOPT_READDATA, context)
        }

        let code = curl_easy_perform(handle)
        if exchange.stopped, code == CURLE_WRITE_ERROR || code == CURLE_ABORTED_BY_CALLBACK {
            return HTTPResponse(status: exchange.status, headers: exchange.headers, body: [])
        }
        guard code == CURLE_OK else {
            if exchange.overflowed { throw .responseTooLarge(responseLimit) }
            let reason = String(cString: curl_easy_strerror(code))
            switch code {
            case CURLE_OPERATION_TIMEDOUT: throw .timedOut
            case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST: throw .connectFailed(reason)
            default: throw .failed(reason)
            }
        }
        var status = 0
        _ = sheen_curl_get_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return HTTPResponse(status: status, headers: exchange.headers, body: exchange.body)
    }

    private static let receiveBody: sheen_curl_data_callback = { data, size, count, context in
        let exchange = Unmanaged<Exchange>.fromOpaque(context!).takeUnretainedValue()
        let length = size * count
        if let onData = exchange.onData, (200..<300).contains(exchange.status) {
            let piece = data!.withMemoryRebound(to: UInt8.self, capacity: length) {
                Array(UnsafeBufferPointer(start: $0, count: length))
            }
            guard onData(piece) else {
                exchange.stopped = true
                return 0
            }
            return length
        }
        guard exchange.body.count + length <= exchange.limit else {
            exchange.overflowed = true
            return 0
        }
        data!.withMemoryRebound(to: UInt8.self, capacity: length) {
            exchange.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: length))
        }
        return length
    }

    /// curl's progress callback: about once a second while idle, more often while data moves.
    private static let tick: sheen_curl_progress_callback = { context, _, _, _, _ in
        let exchange = Unmanaged<Exchange>.fromOpaque(context!).takeUnretainedValue()
        guard let onTick = exchange.onTick, !onTick() else { return 0 }
        exchange.stopped = true
        return 1
    }

    private static let receiveHeader: sheen_curl_data_callback = { data, size, count, context in
        let exchange = Unmanaged<Exchange>.fromOpaque(context!).takeUnretainedValue()
        let length = size * count
        let line = data!.withMemoryRebound(to: UInt8.self, capacity: length) {
            String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
        }
        if line.hasPrefix("HTTP/") {
            exchange.headers.removeAll()  // a new response (after a redirect or 100 Continue)
            let parts = line.split(separator: " ")
            exchange.status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
        } else if let colon = line.firstIndex(of: ":") {
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingSpaces()
            exchange.headers.append((name, value))
        }
        return length
    }

    private static let sendBody: sheen_curl_data_callback = { buffer, size, count, context in
        let exchange = Unmanaged<Exchange>.fromOpaque(context!).takeUnretainedValue()
        let length = min(size * count, exchange.upload.count - exchange.uploaded)
        guard length > 0 else { return 0 }
        exchange.upload.withUnsafeBytes { source in
            buffer!.withMemoryRebound(to: UInt8.self, capacity: length) { target in
                target.update(
                    from: source.baseAddress!.assumingMemoryBound(to: UInt8.self) + exchange.uploaded, count: length)
            }
        }
        exchange.uploaded += length
        return length
    }
}

extension Substring {
    /// Without leading and trailing spaces, tabs, CR and LF. On bytes: `"\r\n"` is one Character.
    fileprivate func trimmingSpaces() -> String {
        let blank: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0d || $0 == 0x0a }
        let bytes = Array(utf8)
        guard let first = bytes.firstIndex(where: { !blank($0) }), let last = bytes.lastIndex(where: { !blank($0) })
        else { return "" }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }
}
