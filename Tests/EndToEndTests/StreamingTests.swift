import Foundation
import TestSupport
import Testing

/// `text/event-stream` responses reach the client event by event through nginx.
@Suite struct StreamingTests {
    @Test func eventsArriveAsTheyAreSentNotWhenTheStreamEnds() throws {
        let base = try TestEnvironment.require("TEST_BASE_URL")
        let port = UInt16(base.split(separator: ":").last!)!
        let arrivals = try RawHTTP.get(port: port, path: "/healthz/deployments/fault/stream?events=4&ms=400")
        let whole = arrivals.map(\.text).joined()
        #expect(whole.contains("Content-Type: text/event-stream"))
        #expect(whole.contains("X-Request-ID: "))
        for index in 0..<4 { #expect(whole.contains("id: \(index)\nevent: tick\ndata: tick \(index)\n\n")) }
        let first = try #require(arrivals.first { $0.text.contains("data: tick 0") })
        let last = try #require(arrivals.last)
        #expect(last.seconds >= 1.1)
        #expect(first.seconds < last.seconds - 0.8, "the first event waited for the end of the stream")
    }
}
