import Crypto
import Foundation
import Platform
import Postgres
import TestSupport
import Testing

/// `vercel-admin` against the stack, through nginx: keys made by the tool, a request approved by
/// two admins and executed by its requester, refusals with meaningful exit codes, a key file others
/// can read refused, the first key enrolled on the host, a stored webhook replayed, and the audit
/// chain verified with the checkpoint's public key alone.
@Suite(.serialized) struct AdminToolTests {
    let fixtures = StackFixtures()
    let client: StackClient
    let home: URL
    let settingsFile: String

    init() throws {
        client = try StackClient()
        home = FileManager.default.temporaryDirectory.appendingPathComponent("vercel-admin-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        settingsFile =
            URL(fileURLWithPath: try TestEnvironment.require("TEST_LOG_DIR")).deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("test.env").path
    }

    struct Run {
        let status: Int32
        let json: [String: Any]
        let output: String
        let errors: String
    }

    /// The tool as `admin` with key file `key`, its settings from the stack's test.env unless
    /// `environment` replaces them.
    func tool(
        _ arguments: [String], admin: UUID? = nil, key: String? = nil, environment: [String: String]? = nil,
        input: String? = nil
    ) throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try TestEnvironment.require("TEST_BIN_DIR") + "/vercel-admin")
        var options = ["--json"]
        if environment == nil { options += ["--settings", settingsFile] }
        if let admin { options += ["--admin", admin.uuidString.lowercased()] }
        if let key { options += ["--key", key] }
        process.arguments = options + arguments
        process.environment =
            [
                "PATH": "/usr/bin:/bin", "HOME": home.path,
                "VERCEL_ADMIN_URL": try TestEnvironment.require("TEST_BASE_URL"),
            ]
            .merging(environment ?? [:]) { $1 }
        let output = Pipe()
        let errors = Pipe()
        let stdin = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try stdin.fileHandleForWriting.close()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let problems = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let json = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
        return Run(status: process.terminationStatus, json: json, output: text, errors: problems)
    }

    /// An admin user with a key the tool made, enrolled as `enrol-first` enrols (the stack's
    /// database already holds other tests' keys, so the quorum would be asked instead).
    func admin() throws -> (id: UUID, key: String) {
        let id = try fixtures.user(role: "admin")
        let key = home.appendingPathComponent("\(id).pem").path
        let made = try tool(["keygen"], key: key)
        #expect(made.status == 0, "\(made.errors)")
        let publicKey = try #require(made.json["publicKey"] as? String)
        let fingerprint = try #require(made.json["fingerprint"] as? String)
        try fixtures.db.execute(
            """
            INSERT INTO vercel_admin_keys (fingerprint, admin_id, public_key, enrolled_by)
            VALUES (\(fingerprint), \(id), \(publicKey), 'host')
            """)
        return (id, key)
    }

    @Test func aRequestApprovedByTwoAdminsIsExecutedByItsRequester() async throws {
        defer { try? FileManager.default.removeItem(at: home) }
        let connected = try await VercelConnectionFixture.connect(fixtures, client)
        let connection: UUID = try fixtures.db.query(
            "SELECT id FROM vercel_connections WHERE user_id = \(connected.user)")[0].decode("id")
        let requester = try admin()
        let first = try admin()
        let second = try admin()
        let asked = try tool(
            [
                "request", "--level", "DECRYPT_TOKENS", "--connection", connection.uuidString.lowercased(),
                "--justification", "Customer escalation: the deploys of a project fail with 401",
            ], admin: requester.id, key: requester.key)
        #expect(asked.status == 0, "\(asked.errors)")
        let id = try #require((asked.json["request"] as? [String: Any])?["id"] as? String)

        let shown = try tool(["show", id], admin: first.id, key: first.key)
        #expect(shown.status == 0 && shown.json["digestVerified"] as? Bool == true, "\(shown.errors)")
        let one = try tool(["approve", id], admin: first.id, key: first.key)
        #expect(one.status == 0 && (one.json["request"] as? [String: Any])?["status"] as? String == "pending")
        // The same admin again: the service refuses, and the tool says so with exit 2 and the code.
        let again = try tool(["approve", id], admin: first.id, key: first.key)
        #expect(again.status == 2 && again.json["code"] as? String == "ALREADY_DECIDED", "\(again.output)")
        let two = try tool(["approve", id], admin: second.id, key: second.key)
        #expect((two.json["request"] as? [String: Any])?["status"] as? String == "approved", "\(two.output)")
        // Someone else's key file in hand does not make one the requester.
        let stranger = try tool(["execute", id], admin: first.id, key: first.key)
        #expect(stranger.status == 2 && stranger.json["code"] as? String == "NOT_REQUESTER")
        let executed = try tool(["execute", id], admin: requester.id, key: requester.key)
        #expect(executed.status == 0, "\(executed.errors)")
        let tokens = try #require(executed.json["tokens"] as? [[String: Any]])
        #expect(tokens.first?["accessToken"] is String)
        let recorded: [String] = try fixtures.db.query(
            "SELECT key_fingerprint FROM vercel_breakglass_approvals WHERE request_id = \(id)::uuid ORDER BY decided_at"
        ).map { try $0.decode("key_fingerprint") }
        #expect(recorded.count == 2)

        // A key file others may read is refused before anything is sent.
        chmod(first.key, 0o644)
        let exposed = try tool(["keys"], admin: first.id, key: first.key)
        #expect(exposed.status == 0, "keys needs no key file")
        let refused = try tool(["approve", id], admin: first.id, key: first.key)
        #expect(refused.status == 77 && refused.errors.contains("readable by others"), "\(refused.errors)")
        // A missing secret, or a request that does not exist.
        let unset = try tool(["requests"], admin: first.id, key: first.key, environment: [:])
        #expect(unset.status == 78)
        let missing = try tool(["show", UUID().uuidString.lowercased()], admin: second.id, key: second.key)
        #expect(missing.status == 2 && missing.json["code"] as? String == "REQUEST_NOT_FOUND")
        #expect(try tool(["frobnicate"]).status == 64)
    }

    @Test func theFirstKeyIsEnrolledOnTheHostOnce() throws {
        defer { try? FileManager.default.removeItem(at: home) }
        let database = try TestDatabase.create()
        defer { database.drop() }
        let db = database.connect()
        func adminUser() throws -> UUID {
            try db.query(
                "INSERT INTO users (email, role) VALUES (\(UUID().uuidString + "@example.com"), 'admin') RETURNING id")[
                    0
                ].decode("id")
        }
        let first = try adminUser()
        let second = try adminUser()
        let environment = ["DATABASE_URL": database.url]
        for (admin, name) in [(first, "first"), (second, "second")] {
            #expect(try tool(["keygen"], key: home.appendingPathComponent("\(name).pem").path).status == 0)
            _ = admin
        }
        let enrolled = try tool(
            ["enrol-first"], admin: first, key: home.appendingPathComponent("first.pem").path, environment: environment)
        #expect(enrolled.status == 0, "\(enrolled.errors)")
        let refused = try tool(
            ["enrol-first"], admin: second, key: home.appendingPathComponent("second.pem").path,
            environment: environment)
        #expect(refused.status == 2 && refused.json["code"] as? String == "KEYS_ENROLLED", "\(refused.output)")
        let rows: [String] = try db.query(
            "SELECT enrolled_by || ' ' || status AS s FROM vercel_admin_keys WHERE admin_id = \(first)"
        ).map { try $0.decode("s") }
        #expect(rows == ["host active"])
        let audited: Int = try db.query(
            "SELECT count(*) AS n FROM vercel_security_audit_log WHERE action = 'ADMIN_KEY_ENROLLED' AND actor_user_id = \(first)"
        )[0].decode("n")
        #expect(audited == 1)
        // keygen never writes over a key file.
        #expect(try tool(["keygen"], key: home.appendingPathComponent("first.pem").path).status == 1)
    }

    @Test func aStoredWebhookIsReplayedAndTheChainVerifiesWithThePublicKeyAlone() throws {
        defer { try? FileManager.default.removeItem(at: home) }
        let operatorAdmin = try admin()
        let body = #"{"id":"evt_replay_\#(UUID().uuidString.prefix(8))","type":"project.created","payload":{}}"#
        let job: Int64 = try fixtures.db.query(
            """
            INSERT INTO vercel_jobs (kind, payload, status, attempts) VALUES ('webhook.apply', jsonb_build_object('body', \(body)::text), 'dead', 8)
            RETURNING id
            """)[0].decode("id")
        let replayed = try tool(["replay", "\(job)"], admin: operatorAdmin.id, key: operatorAdmin.key)
        #expect(replayed.status == 0 && replayed.json["outcome"] as? String == "ignored", "\(replayed.output)")
        let audited: Int = try fixtures.db.query(
            "SELECT count(*) AS n FROM vercel_security_audit_log WHERE action = 'WEBHOOK_REPLAYED' AND details->>'jobId' = \("\(job)")"
        )[0].decode("n")
        #expect(audited == 1)
        let pending: Int64 = try fixtures.db.query(
            "INSERT INTO vercel_jobs (kind, payload) VALUES ('webhook.apply', '{\"body\":\"{}\"}') RETURNING id")[0]
            .decode("id")
        let early = try tool(["replay", "\(pending)"], admin: operatorAdmin.id, key: operatorAdmin.key)
        #expect(early.status == 2 && early.json["code"] as? String == "JOB_NOT_FINISHED", "\(early.output)")
        try fixtures.db.execute("DELETE FROM vercel_jobs WHERE id = \(pending)")
        let dead = try tool(["jobs"], admin: operatorAdmin.id, key: operatorAdmin.key)
        #expect((dead.json["jobs"] as? [[String: Any]])?.contains { "\($0["id"] ?? "")" == "\(job)" } == true)
        let retried = try tool(["retry", "\(job)"], admin: operatorAdmin.id, key: operatorAdmin.key)
        #expect(retried.status == 0 && retried.json["retried"] as? Bool == true, "\(retried.output)")
        let twice = try tool(["retry", "\(job)"], admin: operatorAdmin.id, key: operatorAdmin.key)
        #expect(twice.status == 2 && twice.json["code"] as? String == "JOB_NOT_DEAD", "\(twice.output)")
        try fixtures.db.execute("DELETE FROM vercel_jobs WHERE id = \(job)")

        // The checkpoint as the job writes it, and the public key the operator publishes.
        let settings = try TestEnvironment.stackConfiguration()
        let secret = try #require(settings["SHEEN_AUDIT_CHECKPOINT_KEY"])
        let signer = try AuditCheckpoint.signingKey(from: Array(secret.utf8))
        let head = try AuditChain.head(fixtures.db)
        let checkpoint = try AuditCheckpoint(seq: head.seq, hash: head.hash, time: 1, signer: signer)
        // The key the operator publishes is the one the checkpoints are signed with.
        let published = try tool(["checkpoint-key"])
        #expect(published.status == 0 && published.json["publicKey"] as? String == signer.publicKey.text)
        let auditor = ["DATABASE_URL": try TestEnvironment.require("TEST_DATABASE_URL")]
        let verified = try tool(
            ["audit", "verify", "--checkpoint", "\(checkpoint)", "--public-key", signer.publicKey.text],
            environment: auditor)
        #expect(verified.status == 0 && verified.json["result"] as? String == "intact", "\(verified.output)")
        let forged = try tool(
            [
                "audit", "verify", "--checkpoint", "\(checkpoint)", "--public-key",
                try Ed25519.PrivateKey.generate().publicKey.text,
            ], environment: auditor)
        #expect(forged.status == 4, "\(forged.output)")
    }

    /// A key rotated from the tool: the request carries the new key and its proof, two other key
    /// holders approve it, and from then on the old key signs nothing and the new one does.
    @Test func aKeyRotatedFromTheToolReplacesTheOldOne() async throws {
        defer { try? FileManager.default.removeItem(at: home) }
        let requests = try BreakglassRequestTests()
        let holder = try admin()
        let newKey = home.appendingPathComponent("rotated.pem").path
        #expect(try tool(["keygen"], key: newKey).status == 0)
        let asked = try tool(
            ["rotate", "--new-key", newKey, "--justification", "The laptop that held the old key was replaced"],
            admin: holder.id, key: holder.key)
        #expect(asked.status == 0, "\(asked.errors)")
        let request = try #require(asked.json["request"] as? [String: Any])
        let id = try #require(request["id"] as? String)
        #expect((request["keyChange"] as? [String: Any])?["action"] as? String == "rotate")
        for _ in 0..<2 {
            let approver = try SigningAdmin.enrolled(in: fixtures.db)
            #expect(try await requests.act(.approve, id, as: approver).status == 200)
        }
        let shown = try tool(["show", id], admin: holder.id, key: holder.key)
        #expect((shown.json["request"] as? [String: Any])?["status"] as? String == "executed", "\(shown.output)")
        let keys: [String] = try fixtures.db.query(
            "SELECT status FROM vercel_admin_keys WHERE admin_id = \(holder.id) ORDER BY enrolled_at"
        ).map { try $0.decode("status") }
        #expect(keys == ["revoked", "active"])

        let (_, connection) = try await requests.connection()
        let other = try SigningAdmin.enrolled(in: fixtures.db)
        let access = try requests.requestID(
            try await requests.create(as: other.id, level: "READ_METADATA", connections: [connection]))
        let old = try tool(["approve", access], admin: holder.id, key: holder.key)
        #expect(old.status == 2 && old.json["code"] as? String == "SIGNATURE_KEY_REVOKED", "\(old.output)")
        let rotated = try tool(["approve", access], admin: holder.id, key: newKey)
        #expect(rotated.status == 0 && (rotated.json["request"] as? [String: Any])?["status"] as? String == "approved")
        #expect(try requests.auditActions(of: id).contains("ADMIN_KEY_ROTATED"))
    }

    /// A key recovery from the tool: an EMERGENCY_RECOVERY request approved by three admins and
    /// executed by its requester, then shares handed in (one from stdin), a reset, and the
    /// threshold reached.
    @Test func sharesHandedInFromTheToolRecoverAKey() async throws {
        defer { try? FileManager.default.removeItem(at: home) }
        let lostID = "tool\(UUID().uuidString.prefix(6).lowercased())"
        let shares = try KeyRecoveryTests().split(
            "\(lostID):" + Base64URL.encode(try SecureRandom.bytes(32)), threshold: 3, shares: 5)
        let requester = try admin()
        let holders = try (0..<3).map { _ in try admin() }
        let asked = try tool(
            [
                "request", "--level", "EMERGENCY_RECOVERY", "--justification",
                "The key \(lostID) left the ring too early",
            ],
            admin: requester.id, key: requester.key)
        let id = try #require((asked.json["request"] as? [String: Any])?["id"] as? String, "\(asked.output)")
        for holder in holders {
            #expect(try tool(["approve", id], admin: holder.id, key: holder.key).status == 0)
        }
        #expect(try tool(["execute", id], admin: requester.id, key: requester.key).status == 0)

        let fromStdin = try tool(
            ["share", id, "-", "--key-id", lostID], admin: holders[0].id, key: holders[0].key, input: shares[0] + "\n")
        #expect(fromStdin.status == 0 && fromStdin.json["progress"] as? String == "1/3", "\(fromStdin.output)")
        let second = try tool(["share", id, shares[1], "--key-id", lostID], admin: holders[1].id, key: holders[1].key)
        #expect(second.json["progress"] as? String == "2/3", "\(second.output)")
        let reset = try tool(["reset-shares", id, "--key-id", lostID], admin: holders[2].id, key: holders[2].key)
        #expect(reset.status == 0 && reset.json["progress"] as? String == "0/3", "\(reset.output)")
        for (holder, share) in zip(holders, [shares[4], shares[3], shares[2]]) {
            let given = try tool(["share", id, share, "--key-id", lostID], admin: holder.id, key: holder.key)
            #expect(given.status == 0, "\(given.output)")
            if holder.id == holders[2].id { #expect(given.json["recovered"] as? Bool == true, "\(given.output)") }
        }
        let actions: [String] = try fixtures.db.query(
            "SELECT action FROM vercel_security_audit_log WHERE details->>'requestId' = \(id) ORDER BY seq"
        ).map { try $0.decode("action") }
        #expect(actions.last == "KEY_RECOVERED" && actions.contains("KEY_RECOVERY_RESET"))
    }
}
