import Foundation
import TestSupport
import Testing

/// `GET …/deployments/:id/logs` through nginx against the simulator's build events. Serialized:
/// a `deployments` process serves only a few streams at once, and one test counts on that.
@Suite(.serialized) struct BuildLogStreamTests {
    let client: StackClient
    let fixtures = StackFixtures()

    init() throws {
        client = try StackClient()
    }

    var port: UInt16 { UInt16(client.baseURL.split(separator: ":").last!)! }

    @Test func theBuildLogStreamDeliversTheSimulatorsEventsInOrderAndEndsAtReady() async throws {
        // Long enough that events still arrive over time after a deploy slowed by a loaded machine.
        let linked = try await LinkedProjectFixture.make(fixtures, client, buildMs: 4_000)
        let id = try await linked.deployPreview()
        let path = "\(linked.base)/deployments/\(id)/logs?userId=\(linked.user)"
        let arrivals = try RawHTTP.get(
            port: port, path: path, headers: client.signatureHeaders("GET", path), timeout: 20)
        let whole = arrivals.map(\.text).joined()
        #expect(whole.contains("Content-Type: text/event-stream"), "\(whole.prefix(300))")
        // Chunk sizes stand on lines of their own once the CRs are gone (CRLF is one Character).
        let events = whole.replacingOccurrences(of: "\r", with: "").components(separatedBy: "\n\n").compactMap {
            block -> (id: String?, type: String, data: String)? in
            let lines = block.split(separator: "\n").map(String.init)
            guard let type = lines.first(where: { $0.hasPrefix("event: ") })?.dropFirst(7) else { return nil }
            let data = lines.filter { $0.hasPrefix("data: ") }.map { String($0.dropFirst(6)) }.joined(separator: "\n")
            return (lines.first { $0.hasPrefix("id: ") }.map { String($0.dropFirst(4)) }, String(type), data)
        }
        #expect(
            events.map(\.type) == [
                "deployment-state", "command", "stdout", "stdout", "stdout", "deployment-state", "end",
            ])
        #expect(events.dropLast().map(\.id) == (1...6).map { "\($0)" })
        #expect(events.last?.data == #"{"state":"READY"}"#)
        #expect(events[5].data.contains(#""readyState":"READY""#))
        // The events came while the build ran, not all at its end.
        let first = try #require(arrivals.first { $0.text.contains("event: deployment-state") })
        let last = try #require(arrivals.last)
        #expect(first.seconds < last.seconds - 0.5)

        // A reconnect with Last-Event-ID gets only what it missed.
        var headers = client.signatureHeaders("GET", path)
        headers["Last-Event-ID"] = "5"
        let resumed = try RawHTTP.get(port: port, path: path, headers: headers).map(\.text).joined()
        #expect(resumed.contains("id: 6\n") && !resumed.contains("id: 5\n") && resumed.contains("event: end"))
    }

    @Test func aQuietStreamGetsHeartbeatsAndAReaderThatLeavesFreesItsPlace() async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client, buildMs: 8_000)
        let id = try await linked.deployPreview()
        let path = "\(linked.base)/deployments/\(id)/logs?userId=\(linked.user)"
        // QUEUED comes at once and the next event 3.2 s later: the test stack beats every second,
        // on the transport's ticks (about one a second), so a beat comes in that gap even under load.
        let quiet = try RawHTTP.get(
            port: port, path: path, headers: client.signatureHeaders("GET", path), until: "event: command"
        )
        .map(\.text).joined()
        let beat = try #require(quiet.range(of: ": keep-alive\n\n"))
        #expect(quiet.range(of: "event: deployment-state")!.lowerBound < beat.lowerBound)

        // Two readers of long builds hang up after the first event; their places come free within
        // a heartbeat or two, so a third stream is served rather than refused (the stack allows two
        // at once; without heartbeats the two would hold their places for the whole 30 s build).
        try await Task.sleep(for: .seconds(3))
        try await linked.connected.account.setFaults(["buildMs": 30_000])
        for _ in 0..<2 {
            let long = try await linked.deployPreview()
            let longPath = "\(linked.base)/deployments/\(long)/logs?userId=\(linked.user)"
            let first = try RawHTTP.get(
                port: port, path: longPath, headers: client.signatureHeaders("GET", longPath),
                until: "event: deployment-state")
            #expect(first.map(\.text).joined().contains("200 OK"))
        }
        try await Task.sleep(for: .seconds(3))
        let third = try await linked.deployPreview()
        let thirdPath = "\(linked.base)/deployments/\(third)/logs?userId=\(linked.user)"
        let served = try RawHTTP.get(
            port: port, path: thirdPath, headers: client.signatureHeaders("GET", thirdPath),
            until: "event: deployment-state"
        )
        .map(\.text).joined()
        #expect(served.contains("200 OK") && served.contains("event: deployment-state"), "\(served.prefix(400))")
    }
}
