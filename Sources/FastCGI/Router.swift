import Kernel

/// Routes requests by method and path pattern (`/v1/projects/:projectId/vercel/env/:key`).
///
/// Each route has a body-size limit. Unknown paths are 404, known paths with another method 405.
/// A `:name` segment takes one path segment, percent-decoded: an encoded `/` (`%2F`) is part of
/// the value (`rules/feature%2F*` gives `feature/*`).
public struct Router<Context>: Sendable {
    public typealias Handler = @Sendable (Request, Context) throws -> Response

    public static var defaultBodyLimit: Int { 1 << 20 }

    public struct Route: Sendable {
        public let method: String
        public let pattern: String
        public let bodyLimit: Int
        /// Whether it may wait on another service (served by the upstream workers) or not.
        public let reach: Reach
        /// For an upstream route, the line of the upstream queue its requests wait in apart from
        /// their tenant's other requests (nil: the tenant's own line). A burst of one project's
        /// build log subscriptions waits behind itself, not in front of the project's other routes.
        public let line: String?
        /// Whether the host refuses a NUL or a repeated query parameter before the handler runs
        /// (`Request.screen`); a route that must answer everything its own way screens itself.
        public let screened: Bool
        let segments: [Segment]
        let handler: Handler
    }

    enum Segment: Sendable, Equatable {
        case literal([UInt8])
        case parameter(String)
    }

    /// The outcome of matching a path.
    public enum Match {
        case found(Route, parameters: [String: String])
        case methodNotAllowed(allowed: [String])
        case notFound
    }

    public private(set) var routes: [Route] = []

    public init() {}

    /// Adds a route.
    /// - Parameters:
    ///   - method: `GET`, `POST`, ...
    ///   - pattern: literal segments and `:name` parameters.
    ///   - bodyLimit: the largest body accepted, in bytes; larger is 413.
    ///   - reach: `.local` for a route that reaches only this service's own state, served by the
    ///     accepting workers; `.upstream` (the default, the safe side) for one that may wait on
    ///     another service.
    ///   - line: for an upstream route, a line of the upstream queue of its own beside its tenant's
    ///     (see `Route.line`).
    ///   - screened: false for a route that calls `Request.screen` itself, to answer a refusal
    ///     its own way (a browser's redirect, say).
    public mutating func add(
        _ method: String, _ pattern: String, bodyLimit: Int = Router.defaultBodyLimit, reach: Reach = .upstream,
        line: String? = nil, screened: Bool = true, _ handler: @escaping Handler
    ) {
        let segments = pattern.split(separator: "/").map { part -> Segment in
            part.hasPrefix(":") ? .parameter(String(part.dropFirst())) : .literal(Array(part.utf8))
        }
        precondition(
            !routes.contains { $0.method == method && $0.segments == segments },
            "route \(method) \(pattern) is registered twice")
        routes.append(
            Route(
                method: method, pattern: pattern, bodyLimit: bodyLimit, reach: reach, line: line, screened: screened,
                segments: segments, handler: handler))
    }

    /// Finds the route for `method` and the raw (percent-encoded) `path`.
    public func match(method: String, path: String) -> Match {
        let bytes = Array(path.utf8)
        var parts: [Range<Int>] = []
        var start = 0
        for index in 0...bytes.count where index == bytes.count || bytes[index] == UInt8(ascii: "/") {
            if index > start { parts.append(start..<index) }
            start = index + 1
        }
        var allowed: [String] = []
        for route in routes where route.segments.count == parts.count {
            guard let parameters = Self.bind(route.segments, to: parts, of: bytes) else { continue }
            if route.method == method || (method == "HEAD" && route.method == "GET") {
                return .found(route, parameters: parameters)
            }
            allowed.append(route.method)
        }
        return allowed.isEmpty ? .notFound : .methodNotAllowed(allowed: allowed)
    }

    private static func bind(_ segments: [Segment], to parts: [Range<Int>], of bytes: [UInt8]) -> [String: String]? {
        var parameters: [String: String] = [:]
        for index in segments.indices {
            let part = bytes[parts[index]]
            switch segments[index] {
            case .literal(let text):
                guard text.count == part.count, text.elementsEqual(part) else { return nil }
            case .parameter(let name):
                let value = QueryString.decode(String(decoding: part, as: UTF8.self), plusAsSpace: false)
                guard !value.isEmpty else { return nil }
                parameters[name] = value
            }
        }
        return parameters
    }
}

/// Lines of the upstream queue that routes take apart from their tenant's own (`Router.Route.line`).
public enum UpstreamLine {
    /// Readers subscribing to a stream (build and runtime logs).
    public static let subscriptions = "subscriptions"
}
