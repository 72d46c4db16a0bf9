import Kernel

/// An error that knows its HTTP status, its machine code and a sentence for people. Handlers throw
/// these; the application turns them into `{"error": message, "code": code, ...extra}`.
public protocol HTTPResponseError: Error {
    var status: Int { get }
    var code: String { get }
    var message: String { get }
    /// Fields beside `error` and `code`, such as `requiredScope` or `retryAfter`.
    var extraFields: [String: JSONValue] { get }
    /// Headers to send with the error response, such as `Allow` or `Retry-After`.
    var headers: [(String, String)] { get }
}

extension HTTPResponseError {
    public var extraFields: [String: JSONValue] { [:] }
    public var headers: [(String, String)] { [] }
}

/// The plain `HTTPResponseError`.
public struct HTTPError: HTTPResponseError, Sendable {
    public let status: Int
    public let code: String
    public let message: String
    public let extraFields: [String: JSONValue]
    public let headers: [(String, String)]

    public init(
        _ status: Int, code: String, message: String, extraFields: [String: JSONValue] = [:],
        headers: [(String, String)] = []
    ) {
        self.status = status
        self.code = code
        self.message = message
        self.extraFields = extraFields
        self.headers = headers
    }

    public static func badRequest(_ message: String, code: String = "INVALID_REQUEST") -> HTTPError {
        HTTPError(400, code: code, message: message)
    }

    public static func notFound(_ message: String = "Not found", code: String = "NOT_FOUND") -> HTTPError {
        HTTPError(404, code: code, message: message)
    }

    public static func payloadTooLarge(limit: Int) -> HTTPError {
        HTTPError(
            413, code: "PAYLOAD_TOO_LARGE", message: "The request body is larger than \(limit) bytes",
            extraFields: ["limitBytes": .integer(limit)])
    }

    /// Every worker that waits on other services is busy and the queue for them is full.
    public static var upstreamBusy: HTTPError {
        HTTPError(
            503, code: "UPSTREAM_BUSY", message: "The service is answering many slower requests; try again shortly",
            extraFields: ["retryAfter": .integer(1)], headers: [("Retry-After", "1")])
    }
}
