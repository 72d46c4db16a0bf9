import Foundation
import Testing
import TestSupport

/// A function process of its own, driven over FastCGI without nginx: SIGTERM lets the request in
/// flight finish, refuses new ones and exits 0.
@Suite struct DrainTests {
    @Test func sigtermFinishesTheRequestInFlightAndExitsZero() async throws {
        let bin = try TestEnvironment.require("TEST_BIN_DIR")
        let socket = FileManager.default.temporaryDirectory.appendingPathComponent("drain-\(UUID().uuidString.prefix(8)).sock").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: bin + "/vercel-env")
        process.arguments = ["--socket", socket, "--workers", "2"]
        var environment = ProcessInfo.processInfo.environment
        environment.merge(try TestEnvironment.stackConfiguration()) { $1 }
        process.environment = environment
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }

        for _ in 0..<100 where !FastCGIClient.accepts(socket: socket) { try await Task.sleep(for: .milliseconds(50)) }
        #expect(try FastCGIClient.get(socket: socket, uri: "/healthz/env").contains("Status: 200"))

        async let inFlight = Task.detached { try FastCGIClient.get(socket: socket, uri: "/healthz/env/fault/sleep?ms=1500") }.value
        try await Task.sleep(for: .milliseconds(400))
        kill(process.processIdentifier, SIGTERM)
        try await Task.sleep(for: .milliseconds(200))
        #expect(!FastCGIClient.accepts(socket: socket) || (try? FastCGIClient.get(socket: socket, uri: "/healthz/env", timeout: 2)) == nil)

        let reply = try await inFlight
        #expect(reply.contains("Status: 200"))
        #expect(reply.contains(#""slept":1500"#))
        process.waitUntilExit()
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 0)
    }
}
