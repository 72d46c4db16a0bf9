import Foundation
import TestSupport
import Testing

/// The bytes the crash guard's C code writes for a request whose handler traps, read straight
/// from the function's socket as nginx reads them: well-formed FastCGI records carrying the same
/// 500 the Swift side sends for a thrown error.
@Suite struct CrashGuardWireTests {
    @Test func aTrapIsAnsweredWithWellFormedRecordsOfThe500Reply() throws {
        let run = URL(fileURLWithPath: try TestEnvironment.require("TEST_LOG_DIR")).deletingLastPathComponent()
            .appendingPathComponent("run/optimization.sock").path
        let requestID = "wire-\(UUID().uuidString.lowercased())"
        let records = try FastCGIClient.send(
            socket: run, uri: "/healthz/optimization/fault/trap", parameters: [("REQUEST_ID", requestID)]
        ).records()

        #expect(records.allSatisfy { $0.version == 1 && $0.requestID == 1 })
        #expect(
            records.map(\.type) == [6, 6, 3], "one STDOUT record, the empty one that closes the stream, END_REQUEST")
        #expect(records[1].content.isEmpty)
        #expect(records[2].content == [0, 0, 0, 0, 0, 0, 0, 0], "application status 0, FCGI_REQUEST_COMPLETE")

        let output = String(decoding: records[0].content, as: UTF8.self)
        let parts = output.components(separatedBy: "\r\n\r\n")
        #expect(parts.count == 2)
        let head = parts[0].components(separatedBy: "\r\n")
        #expect(head.first == "Status: 500 Internal Server Error")
        #expect(head.contains("Content-Type: application/json"))
        #expect(head.contains("X-Request-ID: \(requestID)"))
        #expect(head.contains("Content-Length: \(parts[1].utf8.count)"))
        let body = try #require(try JSONSerialization.jsonObject(with: Data(parts[1].utf8)) as? [String: String])
        #expect(
            body == [
                "code": "INTERNAL_ERROR", "error": "The service failed to handle this request", "requestId": requestID,
            ])

        // The process still serves: the next request on a fresh connection is answered normally.
        let health = try FastCGIClient.get(socket: run, uri: "/healthz/optimization")
        #expect(health.hasPrefix("Status: 200"))
    }
}
