import Kernel
import Logging

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// One HTTP request as nginx passed it over FastCGI: the raw path and query as sent, headers with
/// lowercase names, and the raw body bytes (signatures are computed over exactly these).
public struct Request: Sendable {
    public let method: String
    /// The path as sent, still percent-encoded.
    public let path: String
    /// The query string as sent, without `?`; empty when there is none.
    public let rawQuery: String
    public let headers: HTTPHeaders
    public let body: [UInt8]
    /// The correlation id: nginx's `$request_id`, or one made here.
    public let requestID: String
    /// Values of `:name` segments of the matched route, percent-decoded.
    public internal(set) var pathParameters: [String: String] = [:]
    /// The location nginx served the request from (`DOCUMENT_URI`, its `$uri`): the request's own
    /// path, or another's for a subrequest (an authorization subrequest's location). Nil when nginx
    /// did not say.
    public var documentURI: String?
    var baseLogger = Request.placeholderLogger
    /// The logger of requests made outside a group (tests); made once, not per request.
    static let placeholderLogger = Logger(label: "request")

    /// The group's logger with this request's `request.id`.
    public var logger: Logger {
        var logger = baseLogger
        logger[metadataKey: "request.id"] = "\(requestID)"
        return logger
    }

    public init(
        method: String, path: String, rawQuery: String = "", headers: HTTPHeaders = [:], body: [UInt8] = [],
        requestID: String
    ) {
        self.method = method
        self.path = path
        self.rawQuery = rawQuery
        self.headers = headers
        self.body = body
        self.requestID = requestID
    }

    /// The decoded query parameters in the order sent.
    public var queryItems: [(name: String, value: String)] {
        QueryString.parse(rawQuery)
    }

    /// The first value of query parameter `name`.
    public func query(_ name: String) -> String? {
        queryItems.first { $0.name == name }?.value
    }

    /// A path parameter of the matched route.
    public func parameter(_ name: String) -> String? {
        pathParameters[name]
    }

    /// The body decoded as JSON into `T`, once `JSONScreen` found no key twice in an object, no NUL
    /// and no deep nesting.
    /// - Throws: a 400 naming what is wrong (`INVALID_JSON`, `DUPLICATE_JSON_KEY`,
    ///   `NUL_NOT_ALLOWED`), never echoing the body.
    public func decodeJSON<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        guard !body.isEmpty else { throw HTTPError.badRequest("A JSON body is required", code: "INVALID_JSON") }
        do {
            try JSONScreen.check(body)
        } catch {
            throw error.httpError
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(body))
        } catch {
            throw Self.invalidJSON(error)
        }
    }

    /// The 400 `INVALID_JSON` for a decoding failure: which field is missing or of the wrong type.
    public static func invalidJSON(_ error: any Error) -> HTTPError {
        switch error {
        case let error as HTTPError:
            return error
        case DecodingError.keyNotFound(let key, _):
            return HTTPError.badRequest("Field '\(key.stringValue)' is required", code: "INVALID_JSON")
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            return HTTPError.badRequest("Field '\(field)' has the wrong type", code: "INVALID_JSON")
        default:
            return HTTPError.badRequest("The body is not valid JSON", code: "INVALID_JSON")
        }
    }
}

extension JSONScreen.Problem {
    /// The 400 a request with this problem gets.
    public var httpError: HTTPError {
        switch self {
        case .duplicateKey(let key):
            HTTPError.badRequest("The key '\(key)' appears twice in one object", code: "DUPLICATE_JSON_KEY")
        case .nulCharacter: HTTPError.badRequest("Strings may not hold a NUL character", code: "NUL_NOT_ALLOWED")
        case .tooDeep(let limit):
            HTTPError.badRequest("The JSON is nested deeper than \(limit) levels", code: "INVALID_JSON")
        case .malformed: HTTPError.badRequest("The body is not valid JSON", code: "INVALID_JSON")
        }
    }
}

extension Request {
    /// Refuses what two readers of one request could read differently: a query parameter named
    /// twice (the signature sorts them, the handler would take the first), and an encoded NUL in
    /// the path or the query, which no string of the service may hold.
    public func screen() throws {
        if path.utf8.contains(UInt8(ascii: "%"))
            && QueryString.decode(path, plusAsSpace: false).utf8.contains(0)
        {
            throw HTTPError.badRequest("The path may not hold a NUL character", code: "NUL_NOT_ALLOWED")
        }
        guard !rawQuery.isEmpty else { return }
        var names = Set<String>()
        for item in queryItems {
            guard !item.name.utf8.contains(0), !item.value.utf8.contains(0) else {
                throw HTTPError.badRequest("The query may not hold a NUL character", code: "NUL_NOT_ALLOWED")
            }
            guard names.insert(item.name).inserted else {
                throw HTTPError.badRequest(
                    "The query parameter '\(item.name.prefix(64))' is given twice", code: "DUPLICATE_QUERY_PARAMETER")
            }
        }
    }
}
