import Crypto
import Foundation
import Platform
import Postgres
import TestSupport
import Testing

/// The security audit log as a hash chain: appends from many connections make one chain, and a
/// superuser who bypasses the triggers to edit, delete, cut the tail or reorder rows is caught by
/// `vercel-audit verify`, which names the first row that does not fit.
@Suite struct AuditChainTests {
    static let key = "audit-checkpoint-key-for-the-tests-0123456789"

    /// A database with `count` audit rows appended through `SecurityAudit` from `writers` connections
    /// at once.
    func chained(count: Int, writers: Int = 1) throws -> TestDatabase {
        let database = try TestDatabase.create()
        let each = count / writers
        DispatchQueue.concurrentPerform(iterations: writers) { writer in
            let db = database.connect()
            for n in 0..<each {
                try! SecurityAudit(database: db).record(
                    .envVariableSet, severity: .low, actor: UUID(), details: ["writer": "\(writer)", "n": "\(n)"])
            }
            db.close()
        }
        return database
    }

    /// Runs `vercel-audit` with `arguments`: its exit status and its JSON line.
    /// Without `secret`, the checkpoint key is not in its environment: what an auditor runs.
    func audit(
        _ database: TestDatabase, _ arguments: [String], secret: Bool = true
    ) throws -> (status: Int32, result: [String: String]) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try TestEnvironment.require("TEST_BIN_DIR") + "/vercel-audit")
        process.arguments = arguments
        process.environment = ["DATABASE_URL": database.url, "PATH": "/usr/bin:/bin"]
        if secret { process.environment?["SHEEN_AUDIT_CHECKPOINT_KEY"] = Self.key }
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if arguments.first == "head" { return (process.terminationStatus, ["checkpoint": text]) }
        if arguments.first == "public-key" { return (process.terminationStatus, ["publicKey": text]) }
        let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: String] ?? ["raw": text]
        return (process.terminationStatus, object)
    }

    /// As a superuser with the append-only triggers bypassed (`session_replication_role = replica`).
    func tamper(_ database: TestDatabase, _ statement: SQL) throws {
        let db = database.connect()
        defer { db.close() }
        try db.execute("SET session_replication_role = replica")
        try db.execute(statement)
    }

    @Test func appendsFromManyConnectionsMakeOneIntactChain() throws {
        let database = try chained(count: 400, writers: 8)
        defer { database.drop() }
        let db = database.connect()
        #expect(
            try AuditChain.verify(db, batch: 64) == .intact(rows: 400, headSeq: 400, headHash: AuditChain.head(db).hash)
        )
        let gaps: Int = try db.query(
            "SELECT count(*) AS n FROM vercel_security_audit_log a WHERE seq > 1 AND NOT EXISTS (SELECT 1 FROM vercel_security_audit_log b WHERE b.seq = a.seq - 1)"
        )[0].decode("n")
        #expect(gaps == 0)
        let verified = try audit(database, ["verify"])
        #expect(verified.status == 0 && verified.result["result"] == "intact" && verified.result["rows"] == "400")
        // The append-only trigger still holds for everyone else.
        #expect(throws: PostgresError.self) {
            try db.execute("UPDATE vercel_security_audit_log SET action = 'X' WHERE seq = 1")
        }
    }

    @Test func anEditedRowIsNamed() throws {
        let database = try chained(count: 50)
        defer { database.drop() }
        try tamper(
            database, "UPDATE vercel_security_audit_log SET details = '{\"writer\": \"someone else\"}' WHERE seq = 17")
        let verified = try audit(database, ["verify"])
        #expect(verified.status == 2 && verified.result["firstBrokenSeq"] == "17", "\(verified.result)")
        #expect(verified.result["reason"]?.contains("changed") == true)
    }

    @Test func anEditThatRecomputesTheRowsOwnHashBreaksTheNextLink() throws {
        let database = try chained(count: 50)
        defer { database.drop() }
        // A careful forger fixes the edited row's own hash with the database's function.
        try tamper(
            database,
            """
            UPDATE vercel_security_audit_log SET action = 'NOTHING_TO_SEE',
              row_hash = vercel_audit_hash(prev_hash, vercel_audit_canonical(seq, occurred_at, 'NOTHING_TO_SEE', severity,
                service, actor_user_id, connection_id, project_id, details, correlation_id))
            WHERE seq = 30
            """)
        let verified = try audit(database, ["verify"])
        #expect(verified.status == 2 && verified.result["firstBrokenSeq"] == "31", "\(verified.result)")
    }

    @Test func aDeletedRowIsNamed() throws {
        let database = try chained(count: 50)
        defer { database.drop() }
        try tamper(database, "DELETE FROM vercel_security_audit_log WHERE seq = 23")
        let verified = try audit(database, ["verify"])
        #expect(verified.status == 2 && verified.result["firstBrokenSeq"] == "23", "\(verified.result)")
        #expect(verified.result["reason"]?.contains("missing") == true)
    }

    @Test func reorderedRowsAreNamed() throws {
        let database = try chained(count: 50)
        defer { database.drop() }
        // Rows 10 and 11 swap places, each keeping its hashes.
        try tamper(database, "UPDATE vercel_security_audit_log SET seq = -10 WHERE seq = 10")
        try tamper(database, "UPDATE vercel_security_audit_log SET seq = 10 WHERE seq = 11")
        try tamper(database, "UPDATE vercel_security_audit_log SET seq = 11 WHERE seq = -10")
        let verified = try audit(database, ["verify"])
        #expect(verified.status == 2 && verified.result["firstBrokenSeq"] == "10", "\(verified.result)")
    }

    @Test func aDeletedTailIsFoundByACheckpointTakenBefore() throws {
        let database = try chained(count: 50)
        defer { database.drop() }
        let checkpoint = try #require(try audit(database, ["head"]).result["checkpoint"])
        #expect(checkpoint.hasPrefix("v2:50:"))
        #expect(try audit(database, ["verify", "--checkpoint", checkpoint]).status == 0)
        // With the public key alone, no secret: what an auditor holds.
        let publicKey = try #require(try audit(database, ["public-key"]).result["publicKey"])
        #expect(Ed25519.PublicKey(text: publicKey) != nil)
        let audited = try audit(
            database, ["verify", "--checkpoint", checkpoint, "--public-key", publicKey], secret: false)
        #expect(audited.status == 0 && audited.result["checkpoints"] == "1", "\(audited.result)")
        let other = try Ed25519.PrivateKey.generate().publicKey.text
        #expect(
            try audit(database, ["verify", "--checkpoint", checkpoint, "--public-key", other], secret: false).status
                == 2)
        // Without it, or the secret, a v2 checkpoint cannot be checked: refused, never taken on trust.
        #expect(try audit(database, ["verify", "--checkpoint", checkpoint], secret: false).status == 78)
        // The checkpoints written before (v1, an HMAC under the secret) are still read.
        let head = try AuditChain.head(database.connect())
        let old = AuditCheckpoint(seq: head.seq, hash: head.hash, time: 1, key: Array(Self.key.utf8))
        #expect(try audit(database, ["verify", "--checkpoint", "\(old)"]).status == 0)
        try tamper(database, "DELETE FROM vercel_security_audit_log WHERE seq > 45")
        // The chain alone still looks whole; the checkpoint shows what is missing.
        #expect(try audit(database, ["verify"]).status == 0)
        let verified = try audit(database, ["verify", "--checkpoint", checkpoint])
        #expect(verified.status == 2 && verified.result["firstBrokenSeq"] == "46", "\(verified.result)")
        #expect(verified.result["reason"]?.contains("tail") == true)
        // A checkpoint signed with another key proves nothing.
        let forged = AuditCheckpoint(seq: 45, hash: String(repeating: "a", count: 64), time: 1, key: Array("x".utf8))
        #expect(try audit(database, ["verify", "--checkpoint", "\(forged)"]).status == 2)
    }

    @Test func aRewrittenChainBehindACheckpointIsFound() throws {
        let database = try chained(count: 20)
        defer { database.drop() }
        let checkpoint = try #require(try audit(database, ["head"]).result["checkpoint"])
        // Everything deleted and rewritten, consistently, with the same number of rows.
        try tamper(database, "DELETE FROM vercel_security_audit_log")
        let db = database.connect()
        for _ in 0..<20 {
            try SecurityAudit(database: db).record(.jobRetried, severity: .low)
        }
        #expect(try audit(database, ["verify"]).status == 0)
        let verified = try audit(database, ["verify", "--checkpoint", checkpoint])
        #expect(verified.status == 2 && verified.result["firstBrokenSeq"] == "20", "\(verified.result)")
    }

    @Test func theCheckpointJobSignsTheHeadIntoTheLogAndTheOutbox() throws {
        let database = try chained(count: 12)
        defer { database.drop() }
        let process = Process()
        process.executableURL = URL(
            fileURLWithPath: try TestEnvironment.require("TEST_BIN_DIR") + "/vercel-job-audit-checkpoint")
        process.environment = [
            "DATABASE_URL": database.url, "SHEEN_AUDIT_CHECKPOINT_KEY": Self.key, "PATH": "/usr/bin:/bin",
        ]
        let pipe = Pipe()
        process.standardError = pipe
        try process.run()
        let log = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(log)")
        let db = database.connect()
        let alerted: String = try db.query(
            """
            SELECT (payload->>'body')::jsonb->'data'->>'checkpoint' AS checkpoint FROM vercel_jobs
            WHERE kind = 'alert' AND (payload->>'body')::jsonb->>'type' = 'audit.checkpoint'
            """)[0].decode("checkpoint")
        #expect(alerted.hasPrefix("v2:12:") && log.contains(alerted))
        #expect(try audit(database, ["verify", "--checkpoint", alerted]).status == 0)
        // The alert names the public key it verifies with, which is the one vercel-audit publishes.
        let named: String = try db.query(
            """
            SELECT (payload->>'body')::jsonb->'data'->>'publicKey' AS key FROM vercel_jobs
            WHERE kind = 'alert' AND (payload->>'body')::jsonb->>'type' = 'audit.checkpoint'
            """)[0].decode("key")
        #expect(try audit(database, ["public-key"]).result["publicKey"] == named)
        #expect(
            try audit(database, ["verify", "--checkpoint", alerted, "--public-key", named], secret: false).status == 0)
        // Without its key the job does not run.
        let unkeyed = Process()
        unkeyed.executableURL = process.executableURL
        unkeyed.environment = ["DATABASE_URL": database.url, "PATH": "/usr/bin:/bin"]
        unkeyed.standardError = FileHandle.nullDevice
        try unkeyed.run()
        unkeyed.waitUntilExit()
        #expect(unkeyed.terminationStatus != 0)
    }

    @Test func checkpointsAreReadOnlyWithTheirKey() throws {
        let key = Array(Self.key.utf8)
        let checkpoint = AuditCheckpoint(seq: 7, hash: String(repeating: "b", count: 64), time: 1_790_000_000, key: key)
        #expect(try AuditCheckpoint.parse("\(checkpoint)", key: key) == checkpoint)
        #expect(throws: AuditCheckpoint.Problem.badSignature) {
            try AuditCheckpoint.parse("\(checkpoint)", key: Array("another-key-another-key-another-key".utf8))
        }
        #expect(throws: AuditCheckpoint.Problem.malformed) { try AuditCheckpoint.parse("v1:7:abc:1:00", key: key) }
    }
}
