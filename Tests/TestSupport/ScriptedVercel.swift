import Foundation
import Kernel
import Synchronization
import Vercel

/// Vercel as a script: each request is answered by the first rule whose method and path match,
/// and every request is recorded. What in-process tests of the groups hand their clients.
public final class ScriptedVercel: HTTPTransport, Sendable {
    public struct Rule: Sendable {
        let method: String
        let pathPrefix: String
        let answer: @Sendable (HTTPRequest) -> HTTPResponse
    }

    private let state = Mutex<(rules: [Rule], sent: [HTTPRequest])>(([], []))

    public init() {}

    /// Answers `method` requests whose path starts with `pathPrefix` (after the API base) with `answer`.
    public func on(_ method: String, _ pathPrefix: String, answer: @escaping @Sendable (HTTPRequest) -> HTTPResponse) {
        state.withLock { $0.rules.insert(Rule(method: method, pathPrefix: pathPrefix, answer: answer), at: 0) }
    }

    /// Answers with `status` and `json`.
    public func on(_ method: String, _ pathPrefix: String, status: Int = 200, json: String) {
        on(method, pathPrefix) { _ in
            HTTPResponse(status: status, headers: [("content-type", "application/json")], body: Array(json.utf8))
        }
    }

    /// The requests sent so far, as `METHOD /path` without the query.
    public var sent: [String] {
        state.withLock { $0.sent.map { "\($0.method) \(Self.path(of: $0.url))" } }
    }

    /// The requests sent so far, whole.
    public var requests: [HTTPRequest] { state.withLock { $0.sent } }

    public func send(_ request: HTTPRequest) throws(HTTPTransportError) -> HTTPResponse {
        let path = Self.path(of: request.url)
        let rule = state.withLock { state in
            state.sent.append(request)
            return state.rules.first { $0.method == request.method && path.hasPrefix($0.pathPrefix) }
        }
        guard let rule else {
            return HTTPResponse(
                status: 404, body: Array(#"{"error":{"code":"not_found","message":"not scripted"}}"#.utf8))
        }
        return rule.answer(request)
    }

    /// The path of `url`, without scheme, host and query.
    static func path(of url: String) -> String {
        var rest = Substring(url)
        if let scheme = rest.range(of: "://") { rest = rest[scheme.upperBound...] }
        if let slash = rest.firstIndex(of: "/") { rest = rest[slash...] } else { rest = "/" }
        if let mark = rest.firstIndex(of: "?") { rest = rest[..<mark] }
        return String(rest)
    }
}
