import BreakglassGroup
import Crypto
import Foundation
import Platform
import PlatformHost
import TestSupport
import Testing

/// The `breakglass` group's routes, called in process: a request that two other administrators
/// approve and its requester executes once, a denial, the audit log, and the dead-job queue; with
/// the round trips of an approval.
@Suite(.serialized) struct BreakglassRouteTests {
    let harness: GroupHarness
    let requester: SigningAdmin
    let approvers: [SigningAdmin]
    let connection: UUID
    let base = "/v1/admin/vercel/breakglass"

    init() throws {
        harness = try GroupHarness(BreakglassGroup.group)
        requester = try SigningAdmin.enrolled(in: harness.db)
        approvers = [try SigningAdmin.enrolled(in: harness.db), try SigningAdmin.enrolled(in: harness.db)]
        connection = try harness.connect(try harness.user(), token: "vca_opened-only-here")
    }

    func create() throws -> String {
        let created = try harness.call(
            "POST", "\(base)/requests", as: requester.id,
            json: [
                "accessLevel": "DECRYPT_TOKENS", "connectionIds": [connection.uuidString.lowercased()],
                "justification": "Customer escalation: deploys fail with 401 since Monday",
            ])
        #expect(created.status == 201, "\(created.text)")
        return try #require((created.json["request"] as? [String: Any])?["id"] as? String)
    }

    /// `action` on request `id`, signed by `admin` over the request as the group shows it.
    func act(_ action: AdminStatement.Action, _ id: String, as admin: SigningAdmin) throws -> GroupHarness.Answer {
        let shown = try harness.call("GET", "\(base)/requests/\(id)", as: admin.id)
        let request = try #require(shown.json["request"] as? [String: Any], "\(shown.text)")
        return try harness.call(
            "POST", "\(base)/requests/\(id)/\(action.rawValue)", as: admin.id,
            json: ["adminSignature": try admin.signature(action, on: request)])
    }

    func status(_ answer: GroupHarness.Answer) -> String? {
        (answer.json["request"] as? [String: Any])?["status"] as? String
    }

    @Test func twoOtherAdministratorsApproveAndTheRequesterExecutesOnce() throws {
        defer { harness.drop() }
        let id = try create()
        #expect(try act(.approve, id, as: requester).code == "SELF_APPROVAL")
        let one = try act(.approve, id, as: approvers[0])
        #expect(status(one) == "pending", "\(one.text)")
        // Eleven, and two for the signature: its key looked up (locked against a revocation) and its nonce spent.
        #expect(one.statements <= 13, "an approval took \(one.statements) round trips")
        let two = try act(.approve, id, as: approvers[1])
        #expect(status(two) == "approved", "\(two.text)")

        #expect(try act(.execute, id, as: approvers[0]).code == "NOT_REQUESTER")
        let executed = try act(.execute, id, as: requester)
        #expect(executed.status == 200 && executed.header("cache-control") == "no-store", "\(executed.text)")
        let tokens = try #require(executed.json["tokens"] as? [[String: Any]])
        #expect(tokens.first?["accessToken"] as? String == "vca_opened-only-here")
        #expect(
            try act(.execute, id, as: requester).code == "REQUEST_NOT_EXECUTABLE")

        let listed = try harness.call("GET", "\(base)/requests?status=executed", as: approvers[1].id)
        #expect((listed.json["requests"] as? [[String: Any]])?.map { $0["id"] as? String } == [id])
        #expect(!listed.text.contains("vca_opened-only-here"))
        let audit = try harness.call("GET", "\(base)/audit?limit=10", as: approvers[0].id)
        let actions = (audit.json["entries"] as? [[String: Any]])?.compactMap { $0["action"] as? String } ?? []
        #expect(
            actions.prefix(4) == [
                "BREAKGLASS_EXECUTED", "BREAKGLASS_APPROVED", "BREAKGLASS_APPROVAL_RECORDED", "BREAKGLASS_REQUESTED",
            ], "\(audit.text)")
        #expect(!audit.text.contains("vca_opened-only-here"))
    }

    @Test func oneDenialEndsARequestAndNonAdministratorsAreRefused() throws {
        defer { harness.drop() }
        let id = try create()
        #expect(status(try act(.deny, id, as: approvers[0])) == "denied")
        #expect(
            try act(.approve, id, as: approvers[1]).code == "REQUEST_NOT_PENDING")
        let user = try harness.user()
        #expect(try harness.call("GET", "\(base)/requests", as: user).code == "ADMIN_REQUIRED")
        #expect(try harness.call("GET", "\(base)/requests?limit=101", as: requester.id).code == "INVALID_LIMIT")
    }

    @Test func aDeadJobIsListedAndRetriedOnce() throws {
        defer { harness.drop() }
        let job: Int64 = try harness.db.query(
            """
            INSERT INTO vercel_jobs (kind, payload, status, attempts, last_error)
            VALUES ('alert', '{"type":"test"}', 'dead', 8, 'endpoint answered 500') RETURNING id
            """)[0].decode("id")
        let listed = try harness.call("GET", "/v1/admin/vercel/jobs", as: requester.id)
        let ids = (listed.json["jobs"] as? [[String: Any]])?.map { "\($0["id"] ?? "")" } ?? []
        #expect(ids.contains("\(job)"), "\(listed.text)")
        let retried = try harness.call("POST", "/v1/admin/vercel/jobs/\(job)/retry", as: requester.id)
        #expect(retried.status == 200, "\(retried.text)")
        #expect(try harness.call("POST", "/v1/admin/vercel/jobs/\(job)/retry", as: requester.id).code == "JOB_NOT_DEAD")
        #expect(
            try harness.call("POST", "/v1/admin/vercel/jobs/999999999/retry", as: requester.id).code == "JOB_NOT_FOUND")
    }

    @Test func theEnrolledKeysAreListedAndAStoredWebhookIsReplayed() throws {
        defer { harness.drop() }
        let listed = try harness.call("GET", "/v1/admin/vercel/admin-keys", as: requester.id)
        let fingerprints = (listed.json["keys"] as? [[String: Any]])?.compactMap { $0["fingerprint"] as? String } ?? []
        #expect(fingerprints.contains(requester.key.publicKey.fingerprint), "\(listed.text)")
        #expect(!listed.text.contains("PRIVATE"))
        let body = #"{"id":"evt_group_replay","type":"project.created","payload":{}}"#
        let done: Int64 = try harness.db.query(
            """
            INSERT INTO vercel_jobs (kind, payload, status) VALUES ('webhook.apply', jsonb_build_object('body', \(body)::text), 'done')
            RETURNING id
            """)[0].decode("id")
        let replayed = try harness.call("POST", "/v1/admin/vercel/jobs/\(done)/replay", as: requester.id)
        #expect(replayed.status == 200 && replayed.json["outcome"] as? String == "ignored", "\(replayed.text)")
        let queued: Int64 = try harness.db.query(
            "INSERT INTO vercel_jobs (kind, payload) VALUES ('webhook.apply', '{\"body\":\"{}\"}') RETURNING id")[0]
            .decode("id")
        #expect(
            try harness.call("POST", "/v1/admin/vercel/jobs/\(queued)/replay", as: requester.id).code
                == "JOB_NOT_FINISHED")
        let alert: Int64 = try harness.db.query(
            "INSERT INTO vercel_jobs (kind, payload, status) VALUES ('alert', '{\"type\":\"t\"}', 'dead') RETURNING id")[
                0
            ]
            .decode("id")
        #expect(
            try harness.call("POST", "/v1/admin/vercel/jobs/\(alert)/replay", as: requester.id).code == "NOT_A_WEBHOOK")
    }

    /// A key that left the ring, escrowed as `vercel-keyescrow split` escrows it: three shares
    /// handed in by three administrators under an executed EMERGENCY_RECOVERY request re-seal what
    /// it sealed under the ring's current key; before the request is executed no share is taken.
    @Test func threeSharesUnderAnExecutedEmergencyRequestReSealWhatALostKeySealed() throws {
        defer { harness.drop() }
        let lostID = "lost1"
        let lost = try KeyRing(parsing: "\(lostID):" + Base64URL.encode(try SecureRandom.bytes(32)))
        let owner = try harness.user()
        let row = UUID()
        let access = try lost.seal(
            "vca_sealed-under-the-lost-key",
            context: SealContext(
                table: "vercel_connections", column: "access_token_sealed", rowID: row.uuidString.lowercased()))
        try harness.db.execute(
            """
            INSERT INTO vercel_connections (id, user_id, account_type, access_token_sealed, token_key_id, status)
            VALUES (\(row), \(owner), 'personal', \(access), \(lostID), 'connected')
            """)
        let (shares, check) = try lost.withCurrentKey { _, key in
            (try Shamir.split(key, threshold: 3, count: 5), KeyRing.checkValue(of: key))
        }
        try harness.db.execute(
            "INSERT INTO vercel_key_escrow (key_id, check_value, threshold, shares) VALUES (\(lostID), \(check), 3, 5)")

        let holders = [approvers[0], approvers[1], try SigningAdmin.enrolled(in: harness.db)]
        let created = try harness.call(
            "POST", "\(base)/requests", as: requester.id,
            json: [
                "accessLevel": "EMERGENCY_RECOVERY", "justification": "The key lost1 left the ring before its rotation",
            ])
        let shown = try #require(created.json["request"] as? [String: Any], "\(created.text)")
        let id = try #require(shown["id"] as? String)
        func give(_ share: Shamir.Share, as admin: SigningAdmin) throws -> GroupHarness.Answer {
            try harness.call(
                "POST", "\(base)/key-recovery", as: admin.id,
                json: [
                    "requestId": id, "share": share.text, "keyId": lostID,
                    "adminSignature": try admin.signature(
                        .share, on: shown, subject: AdminStatement.subject(ofShare: share.text)),
                ])
        }
        #expect(try give(shares[0], as: holders[0]).code == "RECOVERY_NOT_AUTHORIZED")
        for holder in holders {
            _ = try act(.approve, id, as: holder)
        }
        let executed = try act(.execute, id, as: requester)
        #expect(executed.status == 200, "\(executed.text)")

        #expect(try give(shares[0], as: holders[0]).json["progress"] as? String == "1/3")
        #expect(try give(shares[1], as: holders[0]).json["duplicate"] as? Bool == true, "one share per administrator")
        #expect(try give(shares[1], as: holders[1]).json["progress"] as? String == "2/3")
        let last = try give(shares[2], as: holders[2])
        #expect(last.json["recovered"] as? Bool == true && last.json["reencrypted"] as? Int == 1, "\(last.text)")
        #expect(!last.text.contains("vca_sealed"))
        let keyID: String = try harness.db.query("SELECT token_key_id FROM vercel_connections WHERE id = \(row)")[0]
            .decode("token_key_id")
        #expect(keyID == harness.keyRing.withCurrentKey { id, _ in id })
        #expect(
            try harness.call(
                "POST", "\(base)/key-recovery", as: holders[0].id,
                json: ["requestId": id, "share": "not-a-share", "keyId": lostID]
            ).code == "INVALID_SHARE")
    }
}
