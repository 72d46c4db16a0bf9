import FastCGI
import Foundation
import Kernel
import Logging
import Testing

@Suite struct HTTPApplicationTests {
    struct Refusal: HTTPResponseError {
        var status: Int { 403 }
        var code: String { "INSUFFICIENT_SCOPE" }
        var message: String { "Missing scope" }
        var extraFields: [String: JSONValue] { ["requiredScope": "env:write", "action": "RECONNECT"] }
    }
    struct Unexpected: Error { let secret = "do-not-leak" }
    struct Known: Error {}

    static func application() -> HTTPApplication<Void> {
        var router = Router<Void>()
        router.add("POST", "/echo", bodyLimit: 16) { request, _ in Response(status: 200, body: .bytes(request.body)) }
        router.add("GET", "/refuse") { _, _ in throw Refusal() }
        router.add("GET", "/bug") { _, _ in throw Unexpected() }
        router.add("GET", "/known") { _, _ in throw Known() }
        return HTTPApplication(router: router, context: (), logger: Logger(label: "test")) { error in
            error is Known ? HTTPError(503, code: "DATABASE_UNAVAILABLE", message: "down") : nil
        }
    }

    static func json(_ response: Response) throws -> [String: Any] {
        guard case .bytes(let bytes) = response.body else { throw Known() }
        return try #require(JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    @Test func thrownResponseErrorsBecomeJSONWithTheirExtraFields() throws {
        let response = Self.application().respond(to: Request(method: "GET", path: "/refuse", requestID: "r1"))
        #expect(response.status == 403)
        let body = try Self.json(response)
        #expect(body["code"] as? String == "INSUFFICIENT_SCOPE")
        #expect(body["error"] as? String == "Missing scope")
        #expect(body["requiredScope"] as? String == "env:write")
        #expect(body["action"] as? String == "RECONNECT")
        #expect(body["requestId"] == nil)
    }

    @Test func unexpectedErrorsAre500WithTheCorrelationIDAndNoDetail() throws {
        let response = Self.application().respond(to: Request(method: "GET", path: "/bug", requestID: "corr-42"))
        #expect(response.status == 500)
        let body = try Self.json(response)
        #expect(body["code"] as? String == "INTERNAL_ERROR")
        #expect(body["requestId"] as? String == "corr-42")
        guard case .bytes(let bytes) = response.body else { return }
        #expect(!String(decoding: bytes, as: UTF8.self).contains("do-not-leak"))
    }

    @Test func classifiedErrorsTakeTheirMappedStatus() throws {
        let response = Self.application().respond(to: Request(method: "GET", path: "/known", requestID: "r"))
        #expect(response.status == 503)
        #expect(try Self.json(response)["code"] as? String == "DATABASE_UNAVAILABLE")
    }

    @Test func bodiesOverTheRouteLimitAre413() throws {
        let small = Self.application().respond(
            to: Request(method: "POST", path: "/echo", body: Array("0123456789abcdef".utf8), requestID: "r"))
        #expect(small.status == 200)
        let large = Self.application().respond(
            to: Request(method: "POST", path: "/echo", body: Array("0123456789abcdefg".utf8), requestID: "r"))
        #expect(large.status == 413)
        #expect(try Self.json(large)["code"] as? String == "PAYLOAD_TOO_LARGE")
    }

    @Test func unknownRoutesAre404AndWrongMethods405WithAllow() throws {
        let missing = Self.application().respond(to: Request(method: "GET", path: "/nope", requestID: "r"))
        #expect(missing.status == 404)
        #expect(try Self.json(missing)["code"] as? String == "ROUTE_NOT_FOUND")
        let wrong = Self.application().respond(to: Request(method: "DELETE", path: "/echo", requestID: "r"))
        #expect(wrong.status == 405)
        #expect(wrong.headers.contains { $0 == ("Allow", "POST") })
    }
}
