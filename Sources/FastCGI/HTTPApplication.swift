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

/// Turns FastCGI exchanges into `Request`s, routes them, and writes the `Response`s back: the one
/// place where a thrown error becomes `{"error", "code"}` JSON, where every response gets its
/// `X-Request-ID`, and where the access log line is written.
///
/// One instance serves one worker thread; `Context` is that thread's state (its database
/// connection, say), made once by the caller.
public final class HTTPApplication<Context>: ExchangeHandler {
    private let router: Router<Context>
    private let context: Context
    private let logger: Logger
    private let classify: @Sendable (any Error) -> (any HTTPResponseError)?
    private let tenantKeys: [String]
    private let budget: Budget?

    /// How long a route's handler may run, and how the worker's context learns when each request
    /// must be answered by. The context's calls to other services then start no later than the
    /// deadline and end by it, so a slow service cannot hold the worker past it. A stream, once
    /// its head is written, runs under limits of its own.
    public struct Budget {
        public let limit: Duration
        /// Called with the deadline before the handler runs, and with nil after it returns.
        public let apply: (Context, ContinuousClock.Instant?) -> Void

        public init(limit: Duration, apply: @escaping (Context, ContinuousClock.Instant?) -> Void) {
            self.limit = limit
            self.apply = apply
        }
    }

    /// - Parameters:
    ///   - router: the routes of the group.
    ///   - context: the worker thread's state, handed to every handler of this thread.
    ///   - logger: the group's logger; each request's lines carry `request.id`.
    ///   - classify: maps errors that are not `HTTPResponseError`s but have a meaning for clients
    ///     (a database that is down is a 503); nil leaves them a 500.
    ///   - tenantKeys: the path or query parameters that say whose a request is, in order of
    ///     preference (see `placement(of:)`).
    ///   - budget: each request's time budget; nil for none.
    public init(
        router: Router<Context>, context: Context, logger: Logger,
        classify: @escaping @Sendable (any Error) -> (any HTTPResponseError)? = { _ in nil },
        tenantKeys: [String] = [], budget: Budget? = nil
    ) {
        self.router = router
        self.context = context
        self.logger = logger
        self.classify = classify
        self.tenantKeys = tenantKeys
        self.budget = budget
    }

    public func handle(_ exchange: FastCGIExchange) {
        serve(exchange, refusal: nil)
    }

    /// The route's reach, and its tenant: the first of `tenantKeys` found among the path's
    /// parameters, else in the query, in the route's own line when it has one (`Route.line`). A
    /// path without a route is answered where it is (404, 405).
    public func placement(of exchange: FastCGIExchange) -> Placement {
        let method = exchange.parameter("REQUEST_METHOD") ?? "GET"
        let uri = exchange.parameter("REQUEST_URI") ?? "/"
        let mark = uri.utf8.firstIndex(of: UInt8(ascii: "?"))
        let path = mark.map { String(uri[..<$0]) } ?? uri
        guard case .found(let route, let parameters) = router.match(method: method, path: path) else { return .local }
        guard route.reach == .upstream else { return .local }
        let query = mark.map { QueryString.parse(String(uri[uri.utf8.index(after: $0)...])) } ?? []
        let line = route.line.map { $0 + "/" } ?? ""
        for key in tenantKeys {
            if let value = parameters[key] ?? query.first(where: { $0.name == key })?.value {
                return Placement(reach: .upstream, tenant: line + key + ":" + value.prefix(128))
            }
        }
        return Placement(reach: .upstream, tenant: line)
    }

    public func refuseBusy(_ exchange: FastCGIExchange) {
        serve(exchange, refusal: HTTPError.upstreamBusy)
    }

    /// Serves `exchange`, or answers it with `refusal` without running its route.
    private func serve(_ exchange: FastCGIExchange, refusal: HTTPError?) {
        let started = ContinuousClock.now
        let head = RequestHead(parameter: exchange.parameter, headers: exchange.headers())
        let requestLogger = RequestLogger(base: logger, requestID: head.requestID)
        CrashGuard.arm(exchange: exchange, requestID: head.requestID)
        defer { CrashGuard.disarm() }

        var response: Response
        var route = "unmatched"
        do {
            if let refusal { throw refusal }
            response = try respond(to: head, exchange: exchange, logger: requestLogger, route: &route)
        } catch {
            response = errorResponse(for: error, requestID: head.requestID, logger: requestLogger)
        }
        write(response, requestID: head.requestID, to: exchange, logger: requestLogger)
        // By route template, never the raw path: ids would make a series per request.
        let seconds = Double((ContinuousClock.now - started).milliseconds) / 1000
        Metrics.shared.increment(.httpRequests, [route, head.method, "\(response.status)"])
        Metrics.shared.observe(.httpDuration, [route, head.method], seconds)

        // nginx's access log records every request with its id; this line is for debugging.
        guard logger.logLevel <= .debug else { return }
        let elapsed = ContinuousClock.now - started
        requestLogger.logger.debug(
            "request served",
            metadata: [
                "http.method": "\(head.method)", "http.path": "\(head.path)",
                "http.status": .stringConvertible(response.status),
                "duration.ms": .stringConvertible(elapsed.milliseconds),
            ])
    }

    /// Serves `request` in-process, without a socket: what tests of handlers call.
    public func respond(to request: Request) -> Response {
        do {
            guard case .found(let route, let parameters) = try matched(request.method, request.path) else {
                preconditionFailure("matched throws for anything but found")
            }
            guard request.body.count <= route.bodyLimit else { throw HTTPError.payloadTooLarge(limit: route.bodyLimit) }
            var routed = request
            routed.pathParameters = parameters
            return try run(route, routed)
        } catch {
            return errorResponse(
                for: error, requestID: request.requestID,
                logger: RequestLogger(base: logger, requestID: request.requestID))
        }
    }

    private func respond(
        to head: RequestHead, exchange: FastCGIExchange, logger: RequestLogger, route pattern: inout String
    ) throws -> Response {
        guard case .found(let route, let parameters) = try matched(head.method, head.path) else {
            preconditionFailure("matched throws for anything but found")
        }
        pattern = route.pattern
        let body = try exchange.readBody(limit: route.bodyLimit)
        var request = Request(
            method: head.method, path: head.path, rawQuery: head.rawQuery, headers: head.headers, body: body,
            requestID: head.requestID)
        request.pathParameters = parameters
        request.documentURI = head.documentURI
        request.baseLogger = logger.base
        return try run(route, request)
    }

    private func matched(_ method: String, _ path: String) throws -> Router<Context>.Match {
        switch router.match(method: method, path: path) {
        case .found(let route, let parameters):
            return .found(route, parameters: parameters)
        case .methodNotAllowed(let allowed):
            throw HTTPError(
                405, code: "METHOD_NOT_ALLOWED", message: "\(method) is not allowed here",
                headers: [("Allow", allowed.joined(separator: ", "))])
        case .notFound:
            throw HTTPError.notFound("No route for this path", code: "ROUTE_NOT_FOUND")
        }
    }

    private func run(_ route: Router<Context>.Route, _ request: Request) throws -> Response {
        if route.screened { try request.screen() }
        return try Trace.$requestID.withValue(request.requestID) {
            guard let budget else { return try route.handler(request, context) }
            budget.apply(context, ContinuousClock.now + budget.limit)
            defer { budget.apply(context, nil) }
            return try route.handler(request, context)
        }
    }

    private func errorResponse(for error: any Error, requestID: String, logger requestLogger: RequestLogger) -> Response
    {
        let logger = requestLogger.logger
        let known = (error as? any HTTPResponseError) ?? classify(error)
        guard let known else {
            // The description may name internals; it goes to the log, never to the client.
            logger.error(
                "request failed",
                metadata: ["error": "\(String(reflecting: type(of: error)))", "error.detail": "\(error)"])
            return Self.internalError(requestID: requestID)
        }
        if known.status >= 500 {
            logger.error("request failed", metadata: ["error.code": "\(known.code)", "error.detail": "\(error)"])
        }
        var fields = known.extraFields
        fields["error"] = .string(known.message)
        fields["code"] = .string(known.code)
        if known.status >= 500 { fields["requestId"] = .string(requestID) }
        var response = Response.json(JSONValue.object(fields), status: known.status)
        response.headers += known.headers
        return response
    }

    static var internalErrorMessage: String { "The service failed to handle this request" }

    /// The reply to a request whose handler failed unexpectedly; the crash guard sends the same.
    static func internalError(requestID: String) -> Response {
        Response.json(
            JSONValue.object([
                "error": .string(internalErrorMessage),
                "code": "INTERNAL_ERROR",
                "requestId": .string(requestID),
            ]),
            status: 500)
    }

    private func write(
        _ response: Response, requestID: String, to exchange: FastCGIExchange, logger requestLogger: RequestLogger
    ) {
        var headers = response.headers
        headers.reserveCapacity(headers.count + 2)
        headers.append(("X-Request-ID", requestID))
        switch response.body {
        case .bytes(let bytes):
            headers.append(("Content-Length", "\(bytes.count)"))
            exchange.writeHead(status: response.status, headers: headers)
            exchange.writeBody(bytes)
        case .stream(let produce):
            exchange.writeHead(status: response.status, headers: headers)
            exchange.flush()
            CrashGuard.armForStream(exchange: exchange)
            do {
                try produce(ExchangeStream(exchange: exchange))
            } catch is ClientGone {
                requestLogger.logger.info("stream ended: client gone")
            } catch {
                requestLogger.logger.error("stream failed", metadata: ["error.detail": "\(error)"])
            }
        }
    }
}

/// What nginx says about a request before its body is read.
struct RequestHead {
    let method: String
    let path: String
    let rawQuery: String
    let headers: HTTPHeaders
    let requestID: String
    let documentURI: String?

    init(parameter: (String) -> String?, headers: HTTPHeaders) {
        method = parameter("REQUEST_METHOD") ?? "GET"
        documentURI = parameter("DOCUMENT_URI")
        let uri = parameter("REQUEST_URI") ?? "/"
        if let mark = uri.utf8.firstIndex(of: UInt8(ascii: "?")) {
            path = String(uri[..<mark])
            rawQuery = String(uri[uri.utf8.index(after: mark)...])
        } else {
            path = uri
            rawQuery = ""
        }
        var headers = headers
        if let type = parameter("CONTENT_TYPE"), !type.isEmpty { headers["content-type"] = type }
        self.headers = headers
        requestID = RequestID.accept(parameter("REQUEST_ID")) ?? RequestID.make()
    }

    /// A head from a parameter table, as tests build one.
    init(parameters: [String: String]) {
        var headers = HTTPHeaders()
        for (name, value) in parameters.sorted(by: { $0.key < $1.key }) where name.hasPrefix("HTTP_") {
            headers.append(
                name: String(decoding: name.utf8.dropFirst(5).map(FastCGIExchange.headerByte), as: UTF8.self),
                value: value)
        }
        self.init(parameter: { parameters[$0] }, headers: headers)
    }
}

/// The group's logger with a request's `request.id`, made only when a line is written: copying
/// the metadata for every request would cost more than most requests.
struct RequestLogger {
    let base: Logger
    let requestID: String

    var logger: Logger {
        var logger = base
        logger[metadataKey: "request.id"] = "\(requestID)"
        return logger
    }
}

/// Correlation ids: the one nginx passes when it is well formed, or a new random one.
public enum RequestID {
    /// `candidate` when it is 1–128 characters of `[A-Za-z0-9._:-]`, else nil.
    public static func accept(_ candidate: String?) -> String? {
        guard var candidate else { return nil }
        let allowed = candidate.withUTF8 { bytes in
            (1...128).contains(bytes.count)
                && bytes.allSatisfy { c in
                    (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
                        || c == UInt8(ascii: ".") || c == UInt8(ascii: "_") || c == UInt8(ascii: ":")
                        || c == UInt8(ascii: "-")
                }
        }
        return allowed ? candidate : nil
    }

    /// A new 128-bit id in hex, as nginx's `$request_id` looks.
    public static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in
            let word = UInt32.random(in: .min ... .max, using: &generator)
            let hex = String(word, radix: 16)
            return String(repeating: "0", count: 8 - hex.count) + hex
        }.joined()
    }
}

/// Thrown by a stream whose client went away.
struct ClientGone: Error {}

private struct ExchangeStream: ResponseStream {
    let exchange: FastCGIExchange

    func send(_ bytes: [UInt8]) throws {
        guard exchange.writeBody(bytes), exchange.flush() else { throw ClientGone() }
    }
}
