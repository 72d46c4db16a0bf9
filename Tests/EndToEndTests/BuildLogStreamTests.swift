import Foundation
import TestSupport
import Testing

/// `GET …/deployments/:id/logs` through nginx's Nchan channel, fed by the deployment's one pump,
/// against the simulator's build events.
@Suite struct BuildLogStreamTests {
    let client: StackClient
    let fixtures = StackFixtures()

    init() throws {
        client = try StackClient()
    }

    var port: UInt16 { UInt16(client.baseURL.split(separator: ":").last!)! }

    struct Event: Equatable {
        let id: String?
        let type: String
        let data: String
    }

    /// The events of an event stream, pings left out.
    static func events(_ text: String) -> [Event] {
        // Chunk sizes stand on lines of their own once the CRs are gone (CRLF is one Character).
        text.replacingOccurrences(of: "\r", with: "").components(separatedBy: "\n\n").compactMap { block in
            let lines = block.split(separator: "\n").map(String.init)
            guard let type = lines.first(where: { $0.hasPrefix("event: ") })?.dropFirst(7), type != "ping" else {
                return nil
            }
            let data = lines.filter { $0.hasPrefix("data: ") }.map { String($0.dropFirst(6)) }.joined(separator: "\n")
            return Event(
                id: lines.first { $0.hasPrefix("id: ") }.map { String($0.dropFirst(4)) }, type: String(type), data: data
            )
        }
    }

    func headers(_ path: String, lastEventID: String? = nil) -> [String: String] {
        var headers = client.signatureHeaders("GET", path)
        headers["Accept"] = "text/event-stream"
        if let lastEventID { headers["Last-Event-ID"] = lastEventID }
        return headers
    }

    @Test func theBuildLogStreamDeliversTheSimulatorsEventsInOrderAndEndsAtReady() async throws {
        // Long enough that events still arrive over time after a deploy slowed by a loaded machine
        // (the suite runs a slow account's hammering beside it).
        let linked = try await LinkedProjectFixture.make(fixtures, client, buildMs: 8_000)
        let id = try await linked.deployPreview()
        let path = "\(linked.base)/deployments/\(id)/logs?userId=\(linked.user)"
        let arrivals = try RawHTTP.get(port: port, path: path, headers: headers(path), timeout: 30, until: "event: end")
        let whole = arrivals.map(\.text).joined()
        #expect(whole.contains("Content-Type: text/event-stream"), "\(whole.prefix(300))")
        let events = Self.events(whole)
        #expect(
            events.map(\.type) == [
                "deployment-state", "command", "stdout", "stdout", "stdout", "alias-assigned", "deployment-state",
                "end",
            ], "\(whole)")
        #expect(events.allSatisfy { $0.id != nil }, "each event has its place for Last-Event-ID")
        #expect(events.last?.data == #"{"state":"READY"}"#)
        #expect(events[6].data.contains(#""readyState":"READY""#))
        // Vercel's flat events reach the reader with their serial and step; the keepalives do not.
        #expect(events[1].data.contains(#""serial":""#) && events[1].data.contains(#""step":"build""#))
        #expect(!events.contains { $0.data == "{}" })
        // The events came while the build ran, not all at its end.
        let first = try #require(arrivals.first { $0.text.contains("event: deployment-state") })
        let last = try #require(arrivals.last)
        #expect(first.seconds < last.seconds - 0.5)

        // A reconnect with Last-Event-ID gets only what it missed.
        let resumed = Self.events(
            try RawHTTP.get(
                port: port, path: path, headers: headers(path, lastEventID: events[4].id), timeout: 10,
                until: "event: end"
            ).map(\.text).joined())
        #expect(resumed == Array(events[5...]), "\(resumed)")
        // A reader who comes after the end gets the whole build, and Vercel is not asked again.
        let late = Self.events(
            try RawHTTP.get(port: port, path: path, headers: headers(path), timeout: 10, until: "event: end").map(
                \.text
            )
            .joined())
        #expect(late == events)
        #expect(try await linked.connected.account.requests()["GET /v3/deployments/:id/events"] == 1)
    }

    @Test func aQuietReaderGetsPings() async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client, buildMs: 40_000)
        let id = try await linked.deployPreview()
        let path = "\(linked.base)/deployments/\(id)/logs?userId=\(linked.user)"
        // QUEUED comes at once; the build's next event is seconds away, and nginx pings every 5 s.
        let quiet = try RawHTTP.get(port: port, path: path, headers: headers(path), timeout: 15, until: "event: ping")
            .map(\.text).joined()
        let ping = try #require(quiet.range(of: "event: ping"), "\(quiet)")
        #expect(quiet.range(of: "event: deployment-state")!.lowerBound < ping.lowerBound)
    }

    @Test func manyReadersShareOneUpstreamStream() async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client, buildMs: 3_000)
        let id = try await linked.deployPreview()
        let path = "\(linked.base)/deployments/\(id)/logs?userId=\(linked.user)"
        let port = self.port
        let requests = (0..<20).map { _ in headers(path) }
        let streams = try await withThrowingTaskGroup(of: String.self) { group in
            for headers in requests {
                group.addTask {
                    try RawHTTP.get(port: port, path: path, headers: headers, timeout: 30, until: "event: end")
                        .map(\.text).joined()
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let expected = Self.events(streams[0])
        #expect(expected.last?.type == "end" && expected.count == 8)
        #expect(streams.allSatisfy { Self.events($0) == expected }, "every reader got every event, in order")
        #expect(try await linked.connected.account.requests()["GET /v3/deployments/:id/events"] == 1)
    }

    /// RFC 9110 §12.5.1: no Accept accepts any type, as do `*/*` and `text/*`; each such reader
    /// gets the same event stream as one that names it, and its refusals are the same.
    @Test func aReaderThatAcceptsAnyTypeGetsTheEventStream() async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client, buildMs: 1_500)
        let id = try await linked.deployPreview()
        let path = "\(linked.base)/deployments/\(id)/logs?userId=\(linked.user)"
        let named = Self.events(
            try RawHTTP.get(port: port, path: path, headers: headers(path), timeout: 30, until: "event: end")
                .map(\.text).joined())
        #expect(named.last?.type == "end", "\(named)")
        for accept in [nil, "*/*", "text/*", "application/json;q=0.9, */*;q=0.1"] {
            var any = client.signatureHeaders("GET", path)
            if let accept { any["Accept"] = accept }
            let whole = try RawHTTP.get(port: port, path: path, headers: any, timeout: 30, until: "event: end")
                .map(\.text).joined()
            #expect(
                whole.hasPrefix("HTTP/1.1 200") && whole.contains("Content-Type: text/event-stream"),
                "\(whole.prefix(300))")
            #expect(Self.events(whole) == named, "Accept \(accept ?? "(none)") reads the same events")
        }
        // An id the stream never gave is refused in JSON, before Nchan reads it.
        let garbled = try RawHTTP.get(
            port: port, path: path, headers: headers(path, lastEventID: ":(R /"), timeout: 5
        ).map(\.text).joined()
        #expect(
            garbled.hasPrefix("HTTP/1.1 400") && garbled.contains("INVALID_LAST_EVENT_ID")
                && garbled.contains("Content-Type: application/json"), "\(garbled.prefix(300))")
        // Any other method is refused at once (a subscription is a GET).
        for method in ["POST", "QUERY", "DELETE"] {
            let other = try RawHTTP.get(
                port: port, path: path, headers: headers(path), timeout: 5, until: nil, method: method
            ).map(\.text).joined()
            #expect(
                other.hasPrefix("HTTP/1.1 405") && other.contains("METHOD_NOT_ALLOWED"),
                "\(method): \(other.prefix(200))")
        }
        let unsigned = try RawHTTP.get(port: port, path: path, headers: ["Accept": "*/*"], timeout: 5).map(\.text)
            .joined()
        #expect(unsigned.hasPrefix("HTTP/1.1 401") && unsigned.contains("MISSING_SIGNATURE"), "\(unsigned.prefix(300))")
    }

    @Test func anUnsignedOrForeignSubscriptionIsRefused() async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client, buildMs: 2_000)
        let id = try await linked.deployPreview()
        let path = "\(linked.base)/deployments/\(id)/logs?userId=\(linked.user)"
        // Only an Accept that excludes event streams is refused.
        for accept in ["application/json", "text/event-stream;q=0, application/json", "text/html"] {
            var refusing = client.signatureHeaders("GET", path)
            refusing["Accept"] = accept
            let plain = try RawHTTP.get(port: port, path: path, headers: refusing, timeout: 5).map(\.text).joined()
            #expect(
                plain.hasPrefix("HTTP/1.1 406") && plain.contains("NOT_ACCEPTABLE"), "\(accept): \(plain.prefix(300))")
        }
        let unsigned = try RawHTTP.get(port: port, path: path, headers: ["Accept": "text/event-stream"], timeout: 5)
            .map(\.text).joined()
        #expect(unsigned.hasPrefix("HTTP/1.1 401") && unsigned.contains("MISSING_SIGNATURE"), "\(unsigned.prefix(300))")
        let stranger = try fixtures.user()
        let foreign = "\(linked.base)/deployments/\(id)/logs?userId=\(stranger)"
        let refused = try RawHTTP.get(port: port, path: foreign, headers: headers(foreign), timeout: 5).map(\.text)
            .joined()
        #expect(refused.hasPrefix("HTTP/1.1 404") && refused.contains("PROJECT_NOT_FOUND"), "\(refused.prefix(300))")
        // The same signature again is a replay.
        let once = headers(path)
        _ = try RawHTTP.get(port: port, path: path, headers: once, timeout: 10, until: "event: ")
        let replayed = try RawHTTP.get(port: port, path: path, headers: once, timeout: 5).map(\.text).joined()
        #expect(replayed.hasPrefix("HTTP/1.1 409") && replayed.contains("REPLAY_DETECTED"), "\(replayed.prefix(300))")
    }
}
