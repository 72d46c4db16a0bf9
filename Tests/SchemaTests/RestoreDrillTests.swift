import Crypto
import Foundation
import Platform
import Postgres
import TestSupport
import Testing

/// The restore drill: `sheen-vercel-backup` takes a database backup (which holds no key) and, apart
/// from it, the keys; a restore into a fresh database must give back tokens that open with the
/// ring and an audit chain that verifies against the backup's checkpoint, and must name plainly
/// the rows a later checkpoint saw that the backup cannot have.
@Suite struct RestoreDrillTests {
    static let checkpointKey = "audit-checkpoint-key-for-the-restore-drill-0123"
    let ringText = "k1:" + Base64URL.encode(try! SecureRandom.bytes(32))

    var source: URL {
        get throws {
            URL(fileURLWithPath: try TestEnvironment.require("TEST_MIGRATIONS_DIR")).deletingLastPathComponent()
        }
    }

    /// A settings file as the package writes it (KEY=VALUE), in a folder of its own.
    func settings(_ values: [String: String]) throws -> URL {
        let folder = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("drill-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let file = folder.appendingPathComponent("env")
        try values.map { "\($0.key)=\($0.value)" }.joined(separator: "\n").write(
            to: file, atomically: true, encoding: .utf8)
        return file
    }

    func run(_ arguments: [String], settings: URL) throws -> (status: Int32, output: String, errors: String) {
        let process = Process()
        process.executableURL = try source.appendingPathComponent("deploy/bin/sheen-vercel-backup")
        process.arguments = arguments
        process.environment = [
            "PATH": "/usr/bin:/bin", "SHEEN_VERCEL_BIN": try TestEnvironment.require("TEST_BIN_DIR"),
            "SHEEN_VERCEL_MIGRATIONS": try TestEnvironment.require("TEST_MIGRATIONS_DIR"),
            "SHEEN_VERCEL_SETTINGS": settings.path,
        ]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }

    func audit(_ db: PostgresConnection, rows: Int) throws {
        for n in 0..<rows {
            try SecurityAudit(database: db).record(
                .envVariableSet, severity: .low, actor: UUID(), details: ["n": "\(n)"])
        }
    }

    @Test func aBackupRestoresIntoAFreshDatabaseWithItsTokensOpenAndItsChainWholeOrItsGapNamed() throws {
        let live = try TestDatabase.create()
        defer { live.drop() }
        let db = live.connect()
        let ring = try KeyRing(parsing: ringText)
        let user: UUID = try db.query("INSERT INTO users (email) VALUES ('drill@example.com') RETURNING id")[0].decode(
            "id")
        let store = ConnectionStore(database: db, keyRing: ring)
        _ = try store.save(
            .init(
                userID: user, teamID: nil, teamName: nil, vercelUserID: "vu1", email: "v@example.com",
                mode: "integration", configurationID: "icfg_1", installationID: nil,
                accessToken: "vca_drill-token-value", refreshToken: "vcr_drill-refresh-value", expiresAt: nil,
                scopes: ["read:user"]))
        try audit(db, rows: 5)
        let liveSettings = try settings([
            "DATABASE_URL": live.url, "TOKEN_ENCRYPTION_KEYS": ringText,
            "SHEEN_AUDIT_CHECKPOINT_KEY": Self.checkpointKey,
        ])

        let backups = liveSettings.deletingLastPathComponent().appendingPathComponent("backups")
        let taken = try run(["database", backups.path], settings: liveSettings)
        #expect(taken.status == 0, "\(taken.errors)")
        let backup = taken.output.trimmingCharacters(in: .whitespacesAndNewlines)
        let files = try FileManager.default.contentsOfDirectory(atPath: backup).sorted()
        #expect(files == ["checkpoint", "database.dump", "manifest"])
        // The backup holds no key: neither the ring nor the checkpoint key is in any of its files.
        for file in files {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: backup).appendingPathComponent(file))
            #expect(bytes.range(of: Data(ringText.dropFirst(3).utf8)) == nil, "\(file) holds the ring")
            #expect(bytes.range(of: Data(Self.checkpointKey.utf8)) == nil, "\(file) holds the checkpoint key")
            #expect(bytes.range(of: Data("vca_drill-token-value".utf8)) == nil, "\(file) holds a token in clear")
        }
        let keys = liveSettings.deletingLastPathComponent().appendingPathComponent("keys")
        #expect(try run(["keys", keys.path], settings: liveSettings).status == 0)
        #expect(try String(contentsOf: keys, encoding: .utf8).contains("TOKEN_ENCRYPTION_KEYS=\(ringText)\n"))
        #expect(try FileManager.default.attributesOfItem(atPath: keys.path)[.posixPermissions] as? Int == 0o600)

        // The service goes on after the backup: three more rows, and a checkpoint that saw them.
        try audit(db, rows: 3)
        let later = try run(["database", backups.path + "-later"], settings: liveSettings)
        let laterCheckpoint = try String(
            contentsOfFile: later.output.trimmingCharacters(in: .whitespacesAndNewlines) + "/checkpoint",
            encoding: .utf8
        ).trimmingCharacters(in: .whitespacesAndNewlines)

        // Restored with the keys kept apart: every token opens, the chain is whole to the backup.
        let fresh = try TestDatabase.create(migrated: false)
        defer { fresh.drop() }
        let restored = try run(["restore", backup, fresh.url], settings: keys)
        #expect(restored.status == 0, "\(restored.errors)")
        #expect(restored.output.contains(#""opened":"2""#) && restored.output.contains(#""result":"intact""#))
        let token = try ConnectionStore(database: fresh.connect(), keyRing: ring).credential(
            try fresh.connect().query("SELECT id FROM vercel_connections")[0].decode("id"))
        #expect(token.accessToken == "vca_drill-token-value")

        // Against the later checkpoint, the restore names what it cannot bring back.
        let second = try TestDatabase.create(migrated: false)
        defer { second.drop() }
        let gap = try run(["restore", backup, second.url, "--checkpoint", laterCheckpoint], settings: keys)
        #expect(gap.status == 3, "\(gap.errors)")
        #expect(gap.output.contains(#""result":"restored-gap""#) && gap.output.contains(#""missing":"3""#))
        #expect(gap.errors.contains("written after the backup, are not in it"))

        // A restore over data is refused; a ring without the key leaves the tokens shut (exit 2).
        let again = try run(["restore", backup, second.url], settings: keys)
        #expect(again.status == 1 && again.errors.contains("not empty"))
        let third = try TestDatabase.create(migrated: false)
        defer { third.drop() }
        let wrongRing = try settings([
            "TOKEN_ENCRYPTION_KEYS": "k1:" + Base64URL.encode(try SecureRandom.bytes(32)),
            "SHEEN_AUDIT_CHECKPOINT_KEY": Self.checkpointKey,
        ])
        let shut = try run(["restore", backup, third.url], settings: wrongRing)
        #expect(shut.status == 2 && shut.output.contains(#""failed":"2""#), "\(shut.output) \(shut.errors)")
    }
}
