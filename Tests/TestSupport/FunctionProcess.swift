import Foundation

/// A group's function started on a socket of its own with the test stack's configuration (and
/// `overrides`), for tests that drive it over FastCGI without nginx.
public final class FunctionProcess {
    public let process = Process()
    public let socket: String

    /// Starts `vercel-<group>` and waits until it accepts connections.
    /// - Parameter arguments: more command-line arguments (`--upstream-workers 1`, say).
    public init(
        group: String, workers: Int = 1, arguments: [String] = [], overrides: [String: String] = [:]
    ) async throws {
        let bin = try TestEnvironment.require("TEST_BIN_DIR")
        socket =
            FileManager.default.temporaryDirectory.appendingPathComponent(
                "\(group)-\(UUID().uuidString.prefix(8)).sock"
            ).path
        process.executableURL = URL(fileURLWithPath: bin + "/vercel-\(group)")
        process.arguments = ["--socket", socket, "--workers", "\(workers)"] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment.merge(try TestEnvironment.stackConfiguration()) { $1 }
        environment.merge(overrides) { $1 }
        process.environment = environment
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(15)
        while !FastCGIClient.accepts(socket: socket) {
            guard process.isRunning, Date() < deadline else {
                stop()
                throw FastCGIClient.Failure(description: "vercel-\(group) did not start listening")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    public func stop() {
        if process.isRunning { process.terminate() }
    }

    deinit { stop() }
}
