import Foundation

/// One run of a one-shot job (`vercel-job-<name>`) with the test stack's configuration and
/// `overrides`, as cron would start it.
public enum JobRun {
    /// Runs the job to its end and returns its exit status.
    @discardableResult
    public static func run(_ name: String, overrides: [String: String] = [:]) throws -> Int32 {
        let job = try start(name, overrides: overrides)
        job.waitUntilExit()
        return job.terminationStatus
    }

    /// Starts the job and returns its process, still running.
    public static func start(_ name: String, overrides: [String: String] = [:]) throws -> Process {
        let job = Process()
        job.executableURL = URL(fileURLWithPath: try TestEnvironment.require("TEST_BIN_DIR") + "/vercel-job-\(name)")
        var environment = ProcessInfo.processInfo.environment
        environment.merge(try TestEnvironment.stackConfiguration()) { $1 }
        environment.merge(overrides) { $1 }
        job.environment = environment
        job.standardError = FileHandle.nullDevice
        try job.run()
        return job
    }
}
