import Foundation
import TestSupport
import Testing

/// A function process of its own, driven over FastCGI without nginx: SIGTERM lets the request in
/// flight finish, refuses new ones and exits 0; a socket inherited on fd 0 is served as well.
@Suite struct DrainTests {
    @Test func aSocketInheritedOnStandardInputIsServedAndOutlivesTheInstanceThatDrained() async throws {
        let bin = try TestEnvironment.require("TEST_BIN_DIR")
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "fd0-\(UUID().uuidString.prefix(8)).sock"
        ).path
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        #expect(bound == 0)
        #expect(listen(listener, 16) == 0)
        defer { unlink(path) }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: bin + "/vercel-domains")
        process.arguments = ["--workers", "1"]
        var environment = ProcessInfo.processInfo.environment
        environment.merge(try TestEnvironment.stackConfiguration()) { $1 }
        process.environment = environment
        process.standardInput = FileHandle(fileDescriptor: listener, closeOnDealloc: false)
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { process.terminate() }

        let reply = try FastCGIClient.get(socket: path, uri: "/healthz/domains")
        #expect(reply.contains("Status: 200"))
        #expect(reply.contains(#"{"database":"ok","group":"domains"}"#))

        // A drained instance leaves the socket as it was: the next one (systemd restarting the
        // service on the socket it holds) serves on it, and a request written while no instance
        // ran waited in the backlog and is answered.
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let waiting = try FastCGIClient.send(socket: path, uri: "/healthz/domains")
        let next = Process()
        next.executableURL = process.executableURL
        next.arguments = process.arguments
        next.environment = environment
        next.standardInput = FileHandle(fileDescriptor: listener, closeOnDealloc: true)
        next.standardError = FileHandle.nullDevice
        try next.run()
        defer { next.terminate() }
        #expect(try waiting.reply().contains("Status: 200"))
        #expect(try FastCGIClient.get(socket: path, uri: "/healthz/domains").contains("Status: 200"))
        #expect(next.isRunning)
    }

    @Test func sigtermFinishesTheRequestInFlightAndExitsZero() async throws {
        let function = try await FunctionProcess(group: "env", workers: 2)
        defer { function.stop() }
        let process = function.process
        let socket = function.socket
        #expect(try FastCGIClient.get(socket: socket, uri: "/healthz/env").contains("Status: 200"))

        // Written before SIGTERM, and given time to be accepted by an idle worker of the process.
        let inFlight = try FastCGIClient.send(socket: socket, uri: "/healthz/env/fault/sleep?ms=2000")
        try await Task.sleep(for: .milliseconds(700))
        kill(process.processIdentifier, SIGTERM)
        try await Task.sleep(for: .milliseconds(200))
        #expect(
            !FastCGIClient.accepts(socket: socket)
                || (try? FastCGIClient.get(socket: socket, uri: "/healthz/env", timeout: 2)) == nil)

        let reply = try inFlight.reply()
        #expect(reply.contains("Status: 200"))
        #expect(reply.contains(#""slept":2000"#))
        process.waitUntilExit()
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 0)
    }

    /// A connection the process took just before SIGTERM, whose request is still on its way (nginx
    /// connects, then writes), is answered, not closed: the drain wakes only workers waiting for
    /// a connection.
    @Test func aConnectionTakenBeforeSigtermIsAnsweredWhenItsRequestArrivesAfter() async throws {
        let function = try await FunctionProcess(group: "env", workers: 2)
        defer { function.stop() }
        let process = function.process
        let socket = function.socket
        #expect(try FastCGIClient.get(socket: socket, uri: "/healthz/env").contains("Status: 200"))

        let reply = try await onOwnThread { () -> String in
            let pending = try FastCGIClient.send(socket: socket, uri: "/healthz/env", timeout: 5) {
                // Time for a worker to take the connection and wait for the rest of the request,
                // then for the drain to have been under way a while.
                usleep(400_000)
                kill(process.processIdentifier, SIGTERM)
                usleep(300_000)
            }
            return try pending.reply()
        }
        #expect(reply.contains("Status: 200"))
        process.waitUntilExit()
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 0)
    }
}
