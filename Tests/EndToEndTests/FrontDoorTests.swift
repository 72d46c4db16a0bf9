import Foundation
import TestSupport
import Testing

/// nginx as the front door: every answer it gives itself is JSON, only a well-formed request id
/// reaches a body, and connections that never finish their headers cannot take the service down.
@Suite(.serialized) struct FrontDoorTests {
    let client: StackClient

    init() throws {
        client = try StackClient()
    }

    var port: UInt16 { UInt16(client.baseURL.split(separator: ":").last!)! }

    /// Status line, headers (lowercased names) and body of a raw exchange.
    func send(
        _ requestLine: String, headers: [String] = []
    ) throws -> (status: Int, headers: [String: String], body: String) {
        let raw =
            ([requestLine, "Host: localhost", "Connection: close"] + headers).joined(separator: "\r\n") + "\r\n\r\n"
        let reply = try RawHTTP.exchange(port: port, raw: Array(raw.utf8))
        let parts = reply.components(separatedBy: "\r\n\r\n")
        let head = parts[0].components(separatedBy: "\r\n")
        var fields: [String: String] = [:]
        for line in head.dropFirst() {
            let pair = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if pair.count == 2 { fields[pair[0].lowercased()] = pair[1] }
        }
        let status = Int(head[0].split(separator: " ").dropFirst().first ?? "") ?? 0
        return (status, fields, parts.dropFirst().joined(separator: "\r\n\r\n"))
    }

    @Test(arguments: [
        ("GET /v1/%zz HTTP/1.1", 400, "BAD_REQUEST"),
        ("GET /v1/webhooks/vercel%00 HTTP/1.1", 400, "BAD_REQUEST"),
        ("TRACE /v1/webhooks/vercel HTTP/1.1", 405, "METHOD_NOT_ALLOWED"),
        ("GET /\(String(repeating: "a", count: 10_000)) HTTP/1.1", 414, "URI_TOO_LONG"),
    ])
    func nginxsOwnAnswersAreJSON(requestLine: String, status: Int, code: String) throws {
        let answer = try send(requestLine)
        #expect(answer.status == status)
        #expect(answer.headers["content-type"] == "application/json")
        let body = try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any]
        #expect(body?["code"] as? String == code)
    }

    @Test func headersTooLargeAreJSONToo() throws {
        let answer = try send(
            "GET /healthz/oauth HTTP/1.1", headers: ["X-Big: " + String(repeating: "b", count: 20_000)])
        #expect(answer.status == 400 && answer.headers["content-type"] == "application/json")
    }

    @Test func onlyAWellFormedRequestIDReachesAResponse() throws {
        let forged = try send("GET /nothing HTTP/1.1", headers: [#"X-Request-ID: x","code":"OK"#])
        #expect(forged.headers["x-request-id"]?.contains("\"") == false)
        #expect(forged.headers["x-request-id"]?.count == 32)
        let body = try JSONSerialization.jsonObject(with: Data(forged.body.utf8)) as? [String: Any]
        #expect(body?["code"] as? String == "ROUTE_NOT_FOUND")
        let kept = try send("GET /nothing HTTP/1.1", headers: ["X-Request-ID: platform-req.42"])
        #expect(kept.headers["x-request-id"] == "platform-req.42")
    }

    /// Thousands of connections that send half a header and wait: the webhook route still answers
    /// at once, and nginx drops them when the header timeout passes.
    @Test func slowHeadersDoNotTakeTheServiceDown() async throws {
        var slow: [Int32] = []
        defer { for fd in slow { close(fd) } }
        let partial = Array("GET /healthz/oauth HTTP/1.1\r\nHost: localhost\r\nX-Slow: ".utf8)
        for _ in 0..<9_000 {
            guard let fd = try? RawHTTP.connectTCP(port: port) else { break }
            _ = partial.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            slow.append(fd)
        }
        #expect(slow.count >= 8_000, "only \(slow.count) slow connections could be opened")
        let started = Date()
        let webhook = try await client.send(
            "POST", "/v1/webhooks/vercel", body: Data(#"{"type":"x"}"#.utf8),
            headers: ["content-type": "application/json"])
        #expect(webhook.status == 401, "the webhook route answered \(webhook.status)")
        // Without enough connections and a short header timeout it waited for the slow ones (60 s).
        #expect(Date().timeIntervalSince(started) < 5)
        let health = try await client.send("GET", "/healthz/webhooks")
        #expect(health.status == 200)

        // Past client_header_timeout (5 s) nginx has dropped them (reset_timedout_connection: a
        // reset, or the end), where a connection still open would time the read out.
        try await Task.sleep(for: .seconds(7))
        var tv = timeval(tv_sec: 0, tv_usec: 200_000)
        let sample = slow.prefix(50)
        var closed = 0
        for fd in sample {
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            var buffer = [UInt8](repeating: 0, count: 512)
            var count = 1
            while count > 0 { count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) } }
            if count == 0 || errno == ECONNRESET { closed += 1 }
        }
        #expect(closed == sample.count)
    }
}
