import Crypto
import Foundation
import Platform
import Postgres
import TestSupport
import Testing

/// Key escrow and recovery through nginx: a key that left the ring is split with
/// `vercel-keyescrow`; under an executed EMERGENCY_RECOVERY request, three admins hand in a share
/// each; the combined key is checked against its check value, then every value sealed under it is
/// re-sealed under the ring's current key, and the service reads them again. Two shares, or a
/// corrupted one, change nothing.
@Suite(.serialized) struct KeyRecoveryTests {
    let client: StackClient
    let fixtures = StackFixtures()
    let settings: [String: String]

    init() throws {
        client = try StackClient()
        settings = try TestEnvironment.stackConfiguration()
    }

    func post(_ path: String, as admin: UUID, _ fields: [String: Any]) async throws -> StackClient.Reply {
        var body = fields
        body["userId"] = admin.uuidString
        let json = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
        return try await client.signed("POST", path, json: json)
    }

    /// `vercel-keyescrow split` of `keys`' current key against the stack's database: its shares.
    func split(_ keys: String, threshold: Int, shares: Int) throws -> [String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try TestEnvironment.require("TEST_BIN_DIR") + "/vercel-keyescrow")
        process.arguments = ["split", "--threshold", "\(threshold)", "--shares", "\(shares)"]
        process.environment = [
            "DATABASE_URL": try TestEnvironment.require("TEST_DATABASE_URL"), "TOKEN_ENCRYPTION_KEYS": keys,
            "PATH": "/usr/bin:/bin",
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return output.split(separator: "\n").compactMap { line in
            line.hasPrefix("share ") ? line.split(separator: " ").last.map(String.init) : nil
        }
    }

    func sealedKeyIDs(of connection: UUID) throws -> [String] {
        let row = try fixtures.db.query(
            """
            SELECT split_part(access_token_sealed, '.', 2) AS access, split_part(refresh_token_sealed, '.', 2) AS refresh
            FROM vercel_connections WHERE id = \(connection)
            """)[0]
        return [try row.decode("access"), try row.decode("refresh")]
    }

    @Test func threeSharesRecoverALostKeyAndTheServiceReadsItsTokensAgain() async throws {
        // A connection whose tokens are sealed under a key the service no longer holds.
        let account = try await SimulatorAccount.create()
        let lostID = "lost\(UUID().uuidString.prefix(6).lowercased())"
        let lostKeys = "\(lostID):" + Base64URL.encode(try SecureRandom.bytes(32))
        let lost = try KeyRing(parsing: lostKeys)
        let user = try fixtures.user()
        let connection = UUID()
        let row = connection.uuidString.lowercased()
        let access = try lost.seal(
            account.token, context: SealContext(table: "vercel_connections", column: "access_token_sealed", rowID: row))
        let refresh = try lost.seal(
            "refresh-of-\(row)",
            context: SealContext(table: "vercel_connections", column: "refresh_token_sealed", rowID: row))
        try fixtures.db.execute(
            """
            INSERT INTO vercel_connections (id, user_id, account_type, access_token_sealed, refresh_token_sealed, token_key_id,
              token_expires_at, status)
            VALUES (\(connection), \(user), 'personal', \(access), \(refresh), \(lostID), now() + interval '1 day', 'connected')
            """)
        let shares = try split(lostKeys, threshold: 3, shares: 5)
        #expect(shares.count == 5 && Set(shares).count == 5)

        // An EMERGENCY_RECOVERY request: three other admins approve, its requester executes it.
        let requester = try SigningAdmin.enrolled(in: fixtures.db)
        let holders = try (0..<3).map { _ in try SigningAdmin.enrolled(in: fixtures.db) }
        let requests = "/v1/admin/vercel/breakglass/requests"
        let created = try await post(
            requests, as: requester.id,
            [
                "accessLevel": "EMERGENCY_RECOVERY",
                "justification": "The key \(lostID) left the ring before its rotation finished",
            ])
        let shown = try #require(created.json?["request"] as? [String: Any], "\(created.text)")
        let request = try #require(shown["id"] as? String)
        let recovery = "/v1/admin/vercel/breakglass/key-recovery"
        // Before the request is executed, no share is taken.
        let early = try await post(
            recovery, as: holders[0].id, ["requestId": request, "share": shares[0], "keyId": lostID])
        #expect(early.status == 403 && early.code == "RECOVERY_NOT_AUTHORIZED")
        for holder in holders {
            let approved = try await post(
                "\(requests)/\(request)/approve", as: holder.id,
                ["adminSignature": try holder.signature(.approve, on: shown)])
            #expect(approved.status == 200, "\(approved.text)")
        }
        let executed = try await post(
            "\(requests)/\(request)/execute", as: requester.id,
            ["adminSignature": try requester.signature(.execute, on: shown)])
        #expect(executed.status == 200, "\(executed.text)")

        func give(_ share: String, as admin: SigningAdmin) async throws -> StackClient.Reply {
            try await post(
                recovery, as: admin.id,
                [
                    "requestId": request, "share": share, "keyId": lostID,
                    "adminSignature": try admin.signature(
                        .share, on: shown, subject: AdminStatement.subject(ofShare: share)),
                ])
        }
        // A share without its admin's signature, or signed for another share, is refused.
        let unsigned = try await post(
            recovery, as: holders[0].id, ["requestId": request, "share": shares[0], "keyId": lostID])
        #expect(unsigned.status == 403 && unsigned.code == "SIGNATURE_REQUIRED", "\(unsigned.text)")
        let otherShare = try await post(
            recovery, as: holders[0].id,
            [
                "requestId": request, "share": shares[0], "keyId": lostID,
                "adminSignature": try holders[0].signature(
                    .share, on: shown, subject: AdminStatement.subject(ofShare: shares[1])),
            ])
        #expect(otherShare.status == 403 && otherShare.code == "SIGNATURE_INVALID", "\(otherShare.text)")
        let first = try await give(shares[0], as: holders[0])
        #expect(first.status == 200 && first.json?["progress"] as? String == "1/3", "\(first.text)")
        // The same admin again, or the same share from another: ignored.
        #expect(try await give(shares[1], as: holders[0]).json?["duplicate"] as? Bool == true)
        #expect(try await give(shares[0], as: holders[1]).json?["progress"] as? String == "1/3")
        let second = try await give(shares[1], as: holders[1])
        #expect(second.json?["progress"] as? String == "2/3" && second.json?["recovered"] as? Bool == false)
        #expect(try sealedKeyIDs(of: connection) == [lostID, lostID])

        // A reset discards the progress; the two shares are handed in again.
        let reset = try await post(
            recovery, as: holders[2].id,
            [
                "requestId": request, "reset": true, "keyId": lostID,
                "adminSignature": try holders[2].signature(.resetShares, on: shown),
            ])
        #expect(reset.json?["progress"] as? String == "0/3", "\(reset.text)")
        #expect(try await give(shares[0], as: holders[0]).json?["progress"] as? String == "1/3")
        #expect(try await give(shares[1], as: holders[1]).json?["progress"] as? String == "2/3")

        // A corrupted third share: the combined key fails its check; nothing changes, progress is gone.
        var corrupted = Array(shares[2])
        corrupted[corrupted.count - 1] = corrupted.last == "0" ? "1" : "0"
        let wrong = try await give(String(corrupted), as: holders[2])
        #expect(wrong.status == 422 && wrong.code == "RECOVERY_FAILED", "\(wrong.text)")
        #expect(try sealedKeyIDs(of: connection) == [lostID, lostID])

        for (share, holder) in zip([shares[4], shares[2], shares[3]], holders) {
            let reply = try await give(share, as: holder)
            #expect(reply.status == 200, "\(reply.text)")
            if holder.id == holders[2].id {
                #expect(reply.json?["recovered"] as? Bool == true, "\(reply.text)")
                #expect((reply.json?["reencrypted"] as? Int ?? 0) >= 2)
            }
        }
        let current = try KeyRing(parsing: try #require(settings["TOKEN_ENCRYPTION_KEYS"])).currentKeyID
        #expect(try sealedKeyIDs(of: connection) == [current, current])
        // The service reads the token again: Vercel (the simulator) accepts it.
        let tested = try await client.signed(
            "POST", "/v1/internal/vercel/oauth/test-connection", json: #"{"userId":"\#(user)"}"#)
        #expect(tested.status == 200 && tested.json?["healthy"] as? Bool == true, "\(tested.text)")

        let actions = try fixtures.db.query(
            "SELECT action FROM vercel_security_audit_log WHERE details->>'requestId' = \(request) ORDER BY seq"
        ).map { try $0.decode("action", as: String.self) }
        #expect(actions.filter { $0.hasPrefix("KEY_") }.suffix(2) == ["KEY_RECOVERY_SHARE_ACCEPTED", "KEY_RECOVERED"])
        #expect(actions.contains("KEY_RECOVERY_FAILED"))
        // No share, and not the key, in any log line or audit row.
        let logs = try StackFixtures.logs()
        #expect(!shares.contains { logs.contains(String($0.split(separator: "-").last!)) })
        let audit =
            try fixtures.db.query("SELECT string_agg(details::text, ' ') AS all FROM vercel_security_audit_log")[0][
                "all"] ?? ""
        #expect(!shares.contains { audit.contains(String($0.split(separator: "-").last!)) })
        #expect(
            try fixtures.db.query(
                "SELECT count(*) AS n FROM vercel_key_recovery_shares WHERE request_id = \(request)::uuid")[0]["n"]
                == "0")
    }

    /// `vercel-keyescrow combine` with no service and no database: three of five shares give the
    /// key, checked against its check value, written only to the file named, and it opens a token
    /// sealed under it; two shares, or a wrong check value, write nothing.
    @Test func threeOfFiveSharesRecoverTheKeyOfflineAndTwoDoNot() throws {
        let lostID = "off\(UUID().uuidString.prefix(6).lowercased())"
        let lostKeys = "\(lostID):" + Base64URL.encode(try SecureRandom.bytes(32))
        let lost = try KeyRing(parsing: lostKeys)
        let context = SealContext(table: "vercel_connections", column: "access_token_sealed", rowID: "\(UUID())")
        let sealed = try lost.seal("vca_opened-after-an-offline-recovery", context: context)
        let shares = try split(lostKeys, threshold: 3, shares: 5)
        #expect(shares.count == 5 && shares.allSatisfy { $0.hasPrefix("v2-") })
        let check: String = try fixtures.db.query(
            "SELECT check_value FROM vercel_key_escrow WHERE key_id = \(lostID)")[0].decode("check_value")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("combine-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }

        func combine(_ given: [String], check: String, out: String) throws -> Int32 {
            let process = Process()
            process.executableURL = URL(
                fileURLWithPath: try TestEnvironment.require("TEST_BIN_DIR") + "/vercel-keyescrow")
            process.arguments = ["combine", "--key-id", lostID, "--check-value", check, "--out", out]
            // Nothing of the service: no database, no ring.
            process.environment = ["PATH": "/usr/bin:/bin"]
            let input = Pipe()
            process.standardInput = input
            process.standardError = Pipe()
            try process.run()
            input.fileHandleForWriting.write(Data((given.joined(separator: "\n") + "\n").utf8))
            try input.fileHandleForWriting.close()
            process.waitUntilExit()
            return process.terminationStatus
        }
        let two = folder.appendingPathComponent("two").path
        #expect(try combine([shares[0], shares[3]], check: check, out: two) == 2)
        #expect(!FileManager.default.fileExists(atPath: two))
        let wrong = folder.appendingPathComponent("wrong").path
        #expect(
            try combine([shares[0], shares[2], shares[4]], check: String(repeating: "0", count: 64), out: wrong) == 2)
        #expect(!FileManager.default.fileExists(atPath: wrong))

        let three = folder.appendingPathComponent("three").path
        #expect(try combine([shares[4], shares[1], shares[2]], check: check, out: three) == 0)
        let mode = try FileManager.default.attributesOfItem(atPath: three)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let entry = try String(contentsOfFile: three, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let recovered = try KeyRing(parsing: entry)
        #expect(try recovered.open(sealed, context: context) == "vca_opened-after-an-offline-recovery")
        // Never over an existing file.
        #expect(try combine([shares[4], shares[1], shares[2]], check: check, out: three) == 1)
    }
}
