import Foundation
import TestSupport
import Testing

/// The production install: `scripts/install` into a scratch root (the package's tree), and every
/// systemd unit it puts there checked by `systemd-analyze verify` (syntax, dependencies, that each
/// ExecStart exists). The package itself, in a clean Debian root, is `scripts/release-test`'s.
@Suite struct UnitFilesTests {
    static let groups = ["oauth", "webhooks", "deployments", "env", "domains", "breakglass", "optimization"]
    static let jobs = [
        "token-refresh", "webhook-retry", "alerts", "deployment-sync", "domain-health", "git-deploy",
        "git-feedback", "audit-checkpoint", "rekey", "nonce-prune", "webhook-cleanup", "partitions",
    ]

    func run(
        _ executable: String, _ arguments: [String], in directory: URL? = nil
    ) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    @Test func theInstalledUnitsVerify() throws {
        let source = URL(fileURLWithPath: try TestEnvironment.require("TEST_MIGRATIONS_DIR"))
            .deletingLastPathComponent()
        let root = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("install-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let installed = try run(
            source.appendingPathComponent("scripts/install").path,
            ["--root", root.path, "--bin-dir", try TestEnvironment.require("TEST_BIN_DIR")])
        #expect(installed.status == 0, "\(installed.output)")
        // The host's own units (sysinit.target and the like), which every service depends on.
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("usr/lib/systemd"), withIntermediateDirectories: true)
        _ = try run("/bin/cp", ["-r", "/lib/systemd/system", root.appendingPathComponent("usr/lib/systemd/").path])

        let units =
            Self.groups.flatMap { ["sheen-vercel@\($0).service", "sheen-vercel@\($0).socket"] }
            + Self.jobs.flatMap { ["sheen-vercel-job@\($0).timer", "sheen-vercel-job@\($0).service"] }
            + ["sheen-vercel-migrate.service"]
        let verified = try run("/usr/bin/systemd-analyze", ["verify", "--root=\(root.path)"] + units, in: root)
        #expect(verified.status == 0 && verified.output.isEmpty, "\(verified.output)")

        let service = try String(
            contentsOf: root.appendingPathComponent("lib/systemd/system/sheen-vercel@.service"), encoding: .utf8)
        for line in [
            "Restart=always", "RestartPreventExitStatus=78", "StandardInput=socket", "User=sheen-vercel",
            "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes",
        ] {
            #expect(service.contains("\n\(line)\n"), "\(line) is missing")
        }
        // Each start of the migrations runs them (an upgrade's new files are applied).
        let migrate = try String(
            contentsOf: root.appendingPathComponent("lib/systemd/system/sheen-vercel-migrate.service"), encoding: .utf8)
        #expect(!migrate.contains("\nRemainAfterExit="))
        // The settings file an install starts from names every variable, each commented out.
        let settings = try String(contentsOf: root.appendingPathComponent("etc/sheen-vercel/env"), encoding: .utf8)
        for name in ["DATABASE_URL", "SHEEN_HMAC_SECRET", "SHEEN_AUDIT_CHECKPOINT_KEY", "SHEEN_PROJECTS_ROOT"] {
            #expect(settings.contains("\n#\(name)=\n"), "\(name) is not in the template")
        }
        #expect(!settings.split(separator: "\n").contains { !$0.hasPrefix("#") && !$0.isEmpty })
        let env = root.appendingPathComponent("etc/sheen-vercel/env").path
        let mode = try FileManager.default.attributesOfItem(atPath: env)[.posixPermissions] as? Int
        #expect(mode == 0o640, "the settings file holds secrets: never readable by everyone")
    }
}
