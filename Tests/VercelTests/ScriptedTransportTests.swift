import Foundation
import Kernel
import Logging
import Testing
import Vercel

/// A transport that answers from a script and records what was sent.
final class ScriptedTransport: HTTPTransport, @unchecked Sendable {
    var script: [Result<HTTPResponse, HTTPTransportError>]
    private(set) var sent: [HTTPRequest] = []

    init(_ script: [Result<HTTPResponse, HTTPTransportError>]) {
        self.script = script
    }

    func send(_ request: HTTPRequest) throws(HTTPTransportError) -> HTTPResponse {
        sent.append(request)
        guard !script.isEmpty else { return HTTPResponse(status: 599) }
        return try script.removeFirst().get()
    }
}

@Suite struct ScriptedTransportTests {
    static let user = HTTPResponse(
        status: 200, body: Array(#"{"user":{"id":"u1","email":"a@b.c","username":"a"}}"#.utf8))
    static let expired = HTTPResponse(
        status: 401, body: Array(#"{"error":{"code":"unauthorized","message":"Token expired"}}"#.utf8))

    func client(_ transport: ScriptedTransport, waits: WaitLog = WaitLog()) -> VercelClient {
        VercelClient(
            configuration: .init(
                apiBaseURL: "https://api.example.test/", retry: RetryPolicy(baseDelay: .milliseconds(100))),
            transport: transport, breakers: nil, logger: Logger(label: "test"), sleep: { waits.append($0) })
    }

    @Test func a401RefreshesTheTokenOnceAndRetriesWithTheNewOne() throws {
        let transport = ScriptedTransport([.success(Self.expired), .success(Self.user)])
        let refreshes = RefreshCounter()
        let credentials = VercelClient.Credentials(accessToken: "vca_old", teamID: "team_1") {
            refreshes.increment()
            return "vca_new"
        }
        #expect(try client(transport).user(credentials).id == "u1")
        #expect(refreshes.count == 1)
        #expect(
            transport.sent.map { $0.headers.first { $0.0 == "Authorization" }?.1 } == [
                "Bearer vca_old", "Bearer vca_new",
            ])
        #expect(transport.sent.allSatisfy { $0.url == "https://api.example.test/v2/user?teamId=team_1" })
    }

    @Test func aSecond401IsTheCallersAuthenticationError() throws {
        let transport = ScriptedTransport([.success(Self.expired), .success(Self.expired), .success(Self.user)])
        let refreshes = RefreshCounter()
        let credentials = VercelClient.Credentials(accessToken: "vca_old") {
            refreshes.increment()
            return "vca_new"
        }
        #expect(throws: VercelError.unauthorized(status: 401, message: "Token expired")) {
            try client(transport).user(credentials)
        }
        #expect(refreshes.count == 1)
        #expect(transport.sent.count == 2)
    }

    @Test func retriesWaitAsThePolicySaysAndStopAtTheMaximum() throws {
        let failure = HTTPResponse(status: 503, body: Array(#"{"error":{"code":"unavailable","message":"busy"}}"#.utf8))
        let transport = ScriptedTransport(Array(repeating: .success(failure), count: 6))
        let waits = WaitLog()
        #expect(throws: VercelError.api(status: 503, code: "unavailable", message: "busy")) {
            try client(transport, waits: waits).user(VercelClient.Credentials(accessToken: "t"))
        }
        #expect(transport.sent.count == 4)
        #expect(waits.values.count == 3)
        for (index, wait) in waits.values.enumerated() { #expect(wait <= .milliseconds(100) * (1 << index)) }
    }

    @Test func queryValuesArePercentEncoded() throws {
        let transport = ScriptedTransport([
            .success(
                HTTPResponse(status: 200, body: Array(#"{"projects":[],"pagination":{"count":0,"next":null}}"#.utf8)))
        ])
        _ = try client(transport).projects(
            VercelClient.Credentials(accessToken: "t"), limit: 5, until: .token("a b&c"), search: "x/y")
        #expect(
            transport.sent.first?.url == "https://api.example.test/v10/projects?limit=5&until=a%20b%26c&search=x%2Fy")
    }

    @Test func aBodyThatIsNotTheDocumentedJSONIsAnInvalidResponse() {
        let transport = ScriptedTransport([.success(HTTPResponse(status: 200, body: Array("<html>".utf8)))])
        #expect(throws: VercelError.invalidResponse("GET /v2/user answered JSON that is not a Body")) {
            try client(transport).user(VercelClient.Credentials(accessToken: "t"))
        }
    }
}

final class WaitLog: @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [Duration] = []
    func append(_ wait: Duration) { lock.withLock { recorded.append(wait) } }
    var values: [Duration] { lock.withLock { recorded } }
}
