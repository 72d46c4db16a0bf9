import Foundation
import TestSupport
import Testing

/// A deployment's runtime logs through nginx's Nchan channels, fed by the deployment's one pump
/// following the simulator's runtime-logs stream: every reader gets every line its filter passes,
/// in order, from one upstream stream, and the errors are summed up for a status widget.
@Suite struct RuntimeLogTests {
    let client: StackClient
    let fixtures = StackFixtures()

    init() throws {
        client = try StackClient()
    }

    var port: UInt16 { UInt16(client.baseURL.split(separator: ":").last!)! }

    func headers(_ path: String) -> [String: String] {
        var headers = client.signatureHeaders("GET", path)
        headers["Accept"] = "text/event-stream"
        return headers
    }

    /// Reads `path` on a thread of its own (not one of the few every test's tasks share) until
    /// `marker` has come.
    func reader(_ path: String, until marker: String) -> Task<[BuildLogStreamTests.Event], any Error> {
        let (port, headers) = (self.port, headers(path))
        return Task {
            try await onOwnThread {
                BuildLogStreamTests.events(
                    try RawHTTP.get(port: port, path: path, headers: headers, timeout: 20, until: marker).map(\.text)
                        .joined())
            }
        }
    }

    static let stream = "GET /v1/projects/:projectId/deployments/:deploymentId/runtime-logs"

    @Test func aRuntimeLogLineReachesEveryReaderItsFilterPassesFromOneUpstreamStream() async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client)
        let id = try await linked.deployPreview()
        #expect(try await linked.waitForStoredState(id, "READY") == "READY")
        let base = "\(linked.base)/deployments/\(id)"
        let everything = reader("\(base)/runtime-logs?userId=\(linked.user)", until: "cart is empty")
        // The pump follows Vercel's stream from now: the lines are logged once it does.
        var opened = 0
        for _ in 0..<200 where opened == 0 {
            opened = try await linked.connected.account.requests()[Self.stream] ?? 0
            if opened == 0 { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(opened == 1)
        let apiErrors = reader(
            "\(base)/runtime-logs?userId=\(linked.user)&level=error&path=%2Fapi", until: "cart is empty")
        let serverErrors = reader("\(base)/runtime-logs?userId=\(linked.user)&status=5xx", until: "cart is empty")
        // Time for both to be authorized (which registers their filters) and subscribed.
        try await Task.sleep(for: .milliseconds(1500))
        for (level, path, status, message) in [
            ("info", "/", 200, "hello from the app"), ("warning", "/api/missing", 404, "no such item"),
            ("error", "/api/cart", 500, "TypeError: cart is empty"),
        ] {
            _ = try await linked.connected.account.admin(
                "POST", "/_sim/deployments/\(id)/runtime-logs",
                ["level": level, "path": path, "status": status, "message": message, "source": "serverless"])
        }

        let all = try await everything.value
        #expect(all.map(\.type) == ["info", "warning", "error"], "\(all)")
        #expect(all.allSatisfy { $0.id != nil })
        #expect(all[0].data.contains(#""message":"hello from the app""#) && all[0].data.contains(#""requestPath":"/""#))
        #expect(all[2].data.contains(#""responseStatusCode":500"#) && all[2].data.contains(#""source":"serverless""#))
        let filtered = try await apiErrors.value
        #expect(filtered.map(\.type) == ["error"], "\(filtered)")
        #expect(filtered.first?.data == all[2].data)
        #expect(try await serverErrors.value.map(\.type) == ["error"])
        // Three readers, one stream from Vercel.
        #expect(try await linked.connected.account.requests()[Self.stream] == 1)

        // The errors, summed up: only the 500 (a 404 warning is no error).
        var summary: [String: Any] = [:]
        for _ in 0..<100 {
            summary = try #require(try await client.signed("GET", "\(base)/runtime-errors?userId=\(linked.user)").json)
            if summary["total"] as? Int == 1 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(summary["total"] as? Int == 1 && summary["following"] as? Bool == true, "\(summary)")
        let counted = try #require((summary["byPath"] as? [[String: Any]])?.first)
        #expect(
            counted["path"] as? String == "/api/cart" && counted["status"] as? Int == 500
                && counted["count"] as? Int == 1)
        #expect((summary["latest"] as? [[String: Any]])?.first?["message"] as? String == "TypeError: cart is empty")
    }

    @Test func aFilterOrATimeNobodyCanUseIsRefusedInJSON() async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client)
        let id = try await linked.deployPreview()
        let path = "\(linked.base)/deployments/\(id)/runtime-logs?userId=\(linked.user)&level=loud"
        let refused = try RawHTTP.get(port: port, path: path, headers: headers(path), timeout: 10).map(\.text).joined()
        #expect(refused.hasPrefix("HTTP/1.1 400"), "\(refused.prefix(200))")
        #expect(refused.contains(#""code":"INVALID_RUNTIME_LOG_FILTER""#), "\(refused)")
        let since = try await client.signed(
            "GET", "\(linked.base)/deployments/\(id)/runtime-errors?userId=\(linked.user)&since=soon")
        #expect(since.status == 400 && since.code == "INVALID_SINCE", "\(since.text)")
        #expect(try await linked.connected.account.requests()[Self.stream] == nil)
    }
}
