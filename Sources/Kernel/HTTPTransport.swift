/// One outbound HTTP exchange. Every request states its own timeouts.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// How long to wait for the TCP and TLS connection.
    public var connectTimeout: Duration
    /// How long the whole exchange may take, connection included.
    public var totalTimeout: Duration
    /// What a request to a host a user names needs: only public addresses are connected to (the
    /// check is on the address about to be connected, after resolution), never through a proxy,
    /// and only over https.
    public var publicOnly = false
    /// `host:port:address:port`: where the connection for the URL's host and port goes instead
    /// (curl's `CONNECT_TO`); the URL and its Host header stay as they are.
    public var connectTo: String?

    public init(
        method: String, url: String, headers: [(String, String)] = [], body: [UInt8] = [],
        connectTimeout: Duration = .seconds(5), totalTimeout: Duration = .seconds(30)
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
    }

    /// The shortest exchange worth starting: with less time than this left, a call is not made.
    public static let shortestExchange = Duration.milliseconds(50)

    /// Ends this exchange by `deadline` (the timeouts shortened to what is left); false when less
    /// than `shortestExchange` is left, and the exchange should not start. A nil deadline changes
    /// nothing.
    public mutating func clip(to deadline: ContinuousClock.Instant?) -> Bool {
        guard let deadline else { return true }
        let left = deadline - ContinuousClock.now
        guard left >= Self.shortestExchange else { return false }
        totalTimeout = min(totalTimeout, left)
        connectTimeout = min(connectTimeout, left)
        return true
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    /// Header names in lowercase.
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first value of header `name` (give it in lowercase).
    public func header(_ name: String) -> String? {
        headers.first { $0.0 == name }?.1
    }
}

/// Why no response came back.
public enum HTTPTransportError: Error, Equatable, Sendable {
    /// The connection could not be made within the connect timeout, or was refused.
    case connectFailed(String)
    /// The exchange did not finish within the total timeout.
    case timedOut
    /// The response body passed the transport's size limit.
    case responseTooLarge(Int)
    /// Anything else the HTTP library reported, in its words (never with request headers).
    case failed(String)
}

/// Sends HTTP requests. One instance per thread: implementations may keep connections open.
public protocol HTTPTransport: AnyObject {
    func send(_ request: HTTPRequest) throws(HTTPTransportError) -> HTTPResponse

    /// Sends `request` and hands the body to `onData` piece by piece as it arrives; `onData`
    /// returns false to stop. `onTick` is called about once a second, whether or not anything
    /// arrives (a stream that waits can still notice its own reader went away); false stops too.
    /// The response returned has the status and headers, and the body only when the status is not
    /// 2xx (an error to read whole).
    func stream(
        _ request: HTTPRequest, onData: ([UInt8]) -> Bool, onTick: () -> Bool
    ) throws(HTTPTransportError) -> HTTPResponse
}

extension HTTPTransport {
    /// For transports that cannot stream: the whole body as one piece, no ticks.
    public func stream(
        _ request: HTTPRequest, onData: ([UInt8]) -> Bool, onTick: () -> Bool
    ) throws(HTTPTransportError) -> HTTPResponse {
        var response = try send(request)
        if (200..<300).contains(response.status) {
            _ = onData(response.body)
            response.body = []
        }
        return response
    }
}
