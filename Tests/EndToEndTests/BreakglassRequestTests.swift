import Crypto
import Foundation
import Logging
import Platform
import Postgres
import TestSupport
import Testing
import Vercel

/// Break-glass requests through nginx: distinct admins approve, one denies, the requester executes
/// once inside the window, and every step is audited and alerted; tokens appear in one answer only,
/// uncached, and never in a log.
@Suite(.serialized) struct BreakglassRequestTests {
    let client: StackClient
    let fixtures = StackFixtures()
    let base = "/v1/admin/vercel/breakglass/requests"

    init() throws {
        client = try StackClient()
    }

    func post(_ path: String, as admin: UUID, _ fields: [String: Any] = [:]) async throws -> StackClient.Reply {
        var body = fields
        body["userId"] = admin.uuidString
        let json = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
        return try await client.signed("POST", path, json: json)
    }

    func create(
        as admin: UUID, level: String, connections: [UUID]
    ) async throws -> StackClient.Reply {
        try await post(
            base, as: admin,
            [
                "accessLevel": level, "connectionIds": connections.map(\.uuidString),
                "justification": "Customer escalation: the deploys of a project fail with 401 since Monday",
            ])
    }

    /// `action` on request `id` as `admin`, signed with `key` (the admin's own unless given) over
    /// the request as the service shows it; `signature` replaces the signature when given (`NSNull`
    /// for none).
    func act(
        _ action: AdminStatement.Action, _ id: String, as admin: SigningAdmin, key: Ed25519.PrivateKey? = nil,
        signature: Any? = nil
    ) async throws -> StackClient.Reply {
        let shown = try await client.signed("GET", "\(base)/\(id)?userId=\(admin.id)")
        let request = try #require(shown.json?["request"] as? [String: Any], "\(shown.text)")
        let signed = try signature ?? admin.signature(action, on: request, with: key)
        var fields: [String: Any] = [:]
        if !(signed is NSNull) { fields["adminSignature"] = signed }
        return try await post("\(base)/\(id)/\(action.rawValue)", as: admin.id, fields)
    }

    func requestID(_ reply: StackClient.Reply) throws -> String {
        try #require((reply.json?["request"] as? [String: Any])?["id"] as? String, "\(reply.text)")
    }

    func status(_ reply: StackClient.Reply) -> String? {
        (reply.json?["request"] as? [String: Any])?["status"] as? String
    }

    /// A user connected through the real flow, and their connection's id.
    func connection() async throws -> (VercelConnectionFixture, UUID) {
        let connected = try await VercelConnectionFixture.connect(fixtures, client)
        let id: UUID = try fixtures.db.query(
            "SELECT id FROM vercel_connections WHERE user_id = \(connected.user)")[0].decode("id")
        return (connected, id)
    }

    func auditActions(of request: String) throws -> [String] {
        try fixtures.db.query(
            "SELECT action FROM vercel_security_audit_log WHERE details->>'requestId' = \(request) ORDER BY id"
        ).map { try $0.decode("action") }
    }

    func alertTypes(of request: String) throws -> [String] {
        try fixtures.db.query(
            """
            SELECT (payload->>'body')::jsonb->>'type' AS type FROM vercel_jobs
            WHERE kind = 'alert' AND (payload->>'body')::jsonb->'data'->>'requestId' = \(request) ORDER BY id
            """
        ).map { try $0.decode("type") }
    }

    @Test func decryptTokensNeedsTwoOtherAdminsAndExecutesOnceUncached() async throws {
        let (connected, connection) = try await connection()
        let requester = try SigningAdmin.enrolled(in: fixtures.db)
        let first = try SigningAdmin.enrolled(in: fixtures.db)
        let second = try SigningAdmin.enrolled(in: fixtures.db)
        let created = try await create(as: requester.id, level: "DECRYPT_TOKENS", connections: [connection])
        #expect(created.status == 201 && status(created) == "pending", "\(created.text)")
        #expect((created.json?["request"] as? [String: Any])?["requiredApprovals"] as? Int == 2)
        let id = try requestID(created)

        let own = try await act(.approve, id, as: requester)
        #expect(own.status == 403 && own.code == "SELF_APPROVAL")
        let early = try await act(.execute, id, as: requester)
        #expect(early.status == 409 && early.code == "REQUEST_NOT_EXECUTABLE")
        let one = try await act(.approve, id, as: first)
        #expect(one.status == 200 && status(one) == "pending", "\(one.text)")
        #expect(try await act(.approve, id, as: first).code == "ALREADY_DECIDED")
        let two = try await act(.approve, id, as: second)
        #expect(status(two) == "approved", "\(two.text)")
        #expect((two.json?["request"] as? [String: Any])?["windowEndsAt"] as? String != nil)

        let stranger = try await act(.execute, id, as: first)
        #expect(stranger.status == 403 && stranger.code == "NOT_REQUESTER")
        let executed = try await act(.execute, id, as: requester)
        #expect(executed.status == 200, "\(executed.text)")
        #expect(executed.header("cache-control") == "no-store")
        let tokens = try #require(executed.json?["tokens"] as? [[String: Any]])
        let token = try #require(tokens.first?["accessToken"] as? String)
        // The token opened is the connection's real one: Vercel (the simulator) accepts it.
        #expect(try connected.vercel.user(VercelClient.Credentials(accessToken: token)).id.isEmpty == false)
        let again = try await act(.execute, id, as: requester)
        #expect(again.status == 409 && again.code == "REQUEST_NOT_EXECUTABLE")
        #expect(again.json?["status"] as? String == "executed")

        #expect(
            try auditActions(of: id) == [
                "BREAKGLASS_REQUESTED", "BREAKGLASS_APPROVAL_RECORDED", "BREAKGLASS_APPROVED", "BREAKGLASS_EXECUTED",
            ])
        #expect(
            try alertTypes(of: id) == [
                "breakglass.requested", "breakglass.approval_recorded", "breakglass.approved", "breakglass.executed",
            ])
        // The token is in that one answer only: no log line, audit row or alert holds it.
        #expect(!(try StackFixtures.logs().contains(token)))
        let stored = try fixtures.db.query(
            """
            SELECT count(*) AS n FROM vercel_security_audit_log WHERE details::text LIKE '%' || \(token) || '%'
            UNION ALL SELECT count(*) FROM vercel_jobs WHERE payload::text LIKE '%' || \(token) || '%'
            """
        ).map { try $0.decode("n", as: Int.self) }
        #expect(stored == [0, 0])
        let listed = try await client.signed("GET", "\(base)?userId=\(first.id)&status=executed")
        #expect((listed.json?["requests"] as? [[String: Any]])?.contains { $0["id"] as? String == id } == true)
        #expect(!listed.text.contains(token))
    }

    @Test func oneDenialEndsARequest() async throws {
        let (_, connection) = try await connection()
        let requester = try SigningAdmin.enrolled(in: fixtures.db)
        let denier = try SigningAdmin.enrolled(in: fixtures.db)
        let other = try SigningAdmin.enrolled(in: fixtures.db)
        let id = try requestID(try await create(as: requester.id, level: "DECRYPT_TOKENS", connections: [connection]))
        let denied = try await act(.deny, id, as: denier)
        #expect(status(denied) == "denied", "\(denied.text)")
        let late = try await act(.approve, id, as: other)
        #expect(late.status == 409 && late.code == "REQUEST_NOT_PENDING")
        #expect(try await act(.execute, id, as: requester).code == "REQUEST_NOT_EXECUTABLE")
        #expect(try auditActions(of: id) == ["BREAKGLASS_REQUESTED", "BREAKGLASS_DENIED"])
    }

    @Test func aLateExecuteAndALateApprovalAreRefused() async throws {
        let (_, connection) = try await connection()
        let requester = try SigningAdmin.enrolled(in: fixtures.db)
        let approver = try SigningAdmin.enrolled(in: fixtures.db)
        let id = try requestID(try await create(as: requester.id, level: "READ_METADATA", connections: [connection]))
        #expect(status(try await act(.approve, id, as: approver)) == "approved")
        // The window closed a second ago.
        try fixtures.db.execute(
            "UPDATE vercel_breakglass_requests SET window_ends_at = now() - interval '1 second' WHERE id = \(id)::uuid")
        let late = try await act(.execute, id, as: requester)
        #expect(late.status == 409 && late.json?["status"] as? String == "expired", "\(late.text)")

        let pending = try requestID(
            try await create(as: requester.id, level: "READ_METADATA", connections: [connection]))
        try fixtures.db.execute(
            """
            UPDATE vercel_breakglass_requests SET created_at = now() - interval '20 minutes',
              expires_at = now() - interval '5 minutes' WHERE id = \(pending)::uuid
            """)
        let expired = try await act(.approve, pending, as: approver)
        #expect(expired.status == 409 && expired.json?["status"] as? String == "expired", "\(expired.text)")
    }

    @Test func readMetadataShowsConnectionsWithoutTokens() async throws {
        let (_, connection) = try await connection()
        let requester = try SigningAdmin.enrolled(in: fixtures.db)
        let approver = try SigningAdmin.enrolled(in: fixtures.db)
        let id = try requestID(try await create(as: requester.id, level: "READ_METADATA", connections: [connection]))
        #expect((try await act(.approve, id, as: approver)).status == 200)
        let executed = try await act(.execute, id, as: requester)
        #expect(executed.status == 200, "\(executed.text)")
        let shown = try #require((executed.json?["connections"] as? [[String: Any]])?.first)
        #expect(
            shown["id"] as? String == connection.uuidString.lowercased() && shown["status"] as? String == "connected")
        #expect(executed.json?["tokens"] == nil || executed.json?["tokens"] is NSNull)
        #expect(!executed.text.contains("accessToken"))
    }

    @Test func aFourthRequestInADayIsRefusedWithRetryAfter() async throws {
        let (_, connection) = try await connection()
        let requester = try SigningAdmin.enrolled(in: fixtures.db)
        for _ in 0..<3 {
            #expect(try await create(as: requester.id, level: "READ_METADATA", connections: [connection]).status == 201)
        }
        let fourth = try await create(as: requester.id, level: "READ_METADATA", connections: [connection])
        #expect(fourth.status == 429 && fourth.code == "RATE_LIMITED", "\(fourth.text)")
        let wait = try #require(fourth.json?["retryAfter"] as? Int)
        #expect(wait > 86_000 && wait <= 86_400)
        #expect(fourth.header("retry-after") == "\(wait)")
    }

    @Test func badRequestsAreRefusedWithACode() async throws {
        let (_, connection) = try await connection()
        let requester = try SigningAdmin.enrolled(in: fixtures.db)
        let justification = "Customer escalation: the deploys of a project fail with 401 since Monday"
        let cases: [([String: Any], String)] = [
            (
                ["accessLevel": "ROOT", "connectionIds": [connection.uuidString], "justification": justification],
                "INVALID_ACCESS_LEVEL"
            ),
            (
                [
                    "accessLevel": "DECRYPT_TOKENS", "connectionIds": [connection.uuidString],
                    "justification": "because",
                ],
                "INVALID_JUSTIFICATION"
            ),
            (
                ["accessLevel": "DECRYPT_TOKENS", "connectionIds": [], "justification": justification],
                "INVALID_CONNECTIONS"
            ),
            (
                [
                    "accessLevel": "DECRYPT_TOKENS", "connectionIds": [UUID().uuidString],
                    "justification": justification,
                ],
                "CONNECTION_NOT_FOUND"
            ),
        ]
        for (fields, code) in cases {
            #expect(try await post(base, as: requester.id, fields).code == code)
        }
        #expect(try await post("\(base)/\(UUID())/approve", as: requester.id).code == "REQUEST_NOT_FOUND")
        // None of them counted toward the day's limit.
        #expect(try await create(as: requester.id, level: "READ_METADATA", connections: [connection]).status == 201)
    }
}

/// Signed decisions through nginx: only a signature by the deciding admin's own active key, over
/// the request the service holds, fresh and never seen before, counts; every other attempt is
/// refused with 403 and its code, changes nothing, and is audited and alerted.
@Suite(.serialized) struct SignedDecisionTests {
    let base = "/v1/admin/vercel/breakglass/requests"
    let requests: BreakglassRequestTests
    var fixtures: StackFixtures { requests.fixtures }

    init() throws {
        requests = try BreakglassRequestTests()
    }

    func refusals(of request: String) throws -> [String] {
        try fixtures.db.query(
            """
            SELECT details->>'reason' AS reason FROM vercel_security_audit_log
            WHERE action = 'ADMIN_SIGNATURE_REFUSED' AND details->>'requestId' = \(request) ORDER BY seq
            """
        ).map { try $0.decode("reason") }
    }

    func approvals(of request: String) throws -> Int {
        try fixtures.db.query(
            "SELECT count(*) AS n FROM vercel_breakglass_approvals WHERE request_id = \(request)::uuid")[0].decode("n")
    }

    @Test func onlyTheApproversOwnFreshSignatureCounts() async throws {
        let (_, connection) = try await requests.connection()
        let requester = try SigningAdmin.enrolled(in: fixtures.db)
        let approver = try SigningAdmin.enrolled(in: fixtures.db)
        let other = try SigningAdmin.enrolled(in: fixtures.db)
        let revoked = try SigningAdmin.enrolled(in: fixtures.db)
        try fixtures.db.execute(
            "UPDATE vercel_admin_keys SET status = 'revoked', revoked_at = now() WHERE admin_id = \(revoked.id)")
        let created = try await requests.create(as: requester.id, level: "DECRYPT_TOKENS", connections: [connection])
        let id = try requests.requestID(created)
        let request = try #require(created.json?["request"] as? [String: Any])
        #expect((request["digest"] as? String)?.utf8.count == 64)

        // The platform's HMAC alone: the call is signed, names an admin, and carries no key's signature.
        let hmacOnly = try await requests.act(.approve, id, as: approver, signature: NSNull())
        #expect(hmacOnly.status == 403 && hmacOnly.code == "SIGNATURE_REQUIRED", "\(hmacOnly.text)")
        // Another admin's key, presented as that key, for this admin.
        let foreign = try approver.signature(.approve, on: request, with: other.key)
        let borrowed = try await requests.act(.approve, id, as: approver, signature: foreign)
        #expect(borrowed.status == 403 && borrowed.code == "SIGNATURE_KEY_NOT_YOURS", "\(borrowed.text)")
        // Another key's signature under this admin's fingerprint.
        var forged = try approver.signature(.approve, on: request, with: other.key)
        forged["keyFingerprint"] = approver.key.publicKey.fingerprint
        let mismatched = try await requests.act(.approve, id, as: approver, signature: forged)
        #expect(mismatched.status == 403 && mismatched.code == "SIGNATURE_INVALID", "\(mismatched.text)")
        // The signature of another action (a deny) presented as an approval.
        let denial = try approver.signature(.deny, on: request)
        let swapped = try await requests.act(.approve, id, as: approver, signature: denial)
        #expect(swapped.status == 403 && swapped.code == "SIGNATURE_INVALID")
        // A revoked key.
        let old = try await requests.act(.approve, id, as: revoked)
        #expect(old.status == 403 && old.code == "SIGNATURE_KEY_REVOKED", "\(old.text)")
        // Ten minutes old.
        let stale = try approver.signature(.approve, on: request, timestamp: Int64(Date().timeIntervalSince1970) - 600)
        #expect(try await requests.act(.approve, id, as: approver, signature: stale).code == "SIGNATURE_STALE")
        #expect(try approvals(of: id) == 0)

        // The approver's own signature counts, once.
        let good = try approver.signature(.approve, on: request)
        let counted = try await requests.act(.approve, id, as: approver, signature: good)
        #expect(counted.status == 200 && requests.status(counted) == "pending", "\(counted.text)")
        let decisions = try #require((counted.json?["request"] as? [String: Any])?["decisions"] as? [[String: Any]])
        #expect(decisions.first?["keyFingerprint"] as? String == approver.key.publicKey.fingerprint)
        // Replayed: the same signed statement again, as another admin would need it for a second approval.
        let replayed = try await requests.act(.approve, id, as: approver, signature: good)
        #expect(replayed.status == 403 && replayed.code == "SIGNATURE_REPLAYED", "\(replayed.text)")
        #expect(try approvals(of: id) == 1)

        #expect(
            try refusals(of: id) == [
                "SIGNATURE_REQUIRED", "SIGNATURE_KEY_NOT_YOURS", "SIGNATURE_INVALID", "SIGNATURE_INVALID",
                "SIGNATURE_KEY_REVOKED", "SIGNATURE_STALE", "SIGNATURE_REPLAYED",
            ])
        #expect(try requests.alertTypes(of: id).filter { $0 == "breakglass.signature_refused" }.count == 7)
        // The counted approval's audit row holds its signature: it can be checked again from the log.
        let recorded: String = try fixtures.db.query(
            """
            SELECT details->'adminSignature'->>'value' AS value FROM vercel_security_audit_log
            WHERE action = 'BREAKGLASS_APPROVAL_RECORDED' AND details->>'requestId' = \(id)
            """)[0].decode("value")
        #expect(recorded == good["value"] as? String)

        // Executing needs the requester's own signature too.
        let second = try SigningAdmin.enrolled(in: fixtures.db)
        #expect(requests.status(try await requests.act(.approve, id, as: second)) == "approved")
        let unsigned = try await requests.act(.execute, id, as: requester, signature: NSNull())
        #expect(unsigned.status == 403 && unsigned.code == "SIGNATURE_REQUIRED")
        #expect(try await requests.act(.execute, id, as: requester).status == 200)
    }

    /// Key changes go through the quorum: an admin with no key asks to enrol one (proving they hold
    /// it), the enrolled admins approve, and then it signs; a revoked key signs nothing more.
    @Test func aKeyIsEnrolledAndRevokedByTheQuorum() async throws {
        let first = try SigningAdmin.enrolled(in: fixtures.db)
        let second = try SigningAdmin.enrolled(in: fixtures.db)
        let newcomer = try fixtures.user(role: "admin")
        let newKey = try Ed25519.PrivateKey.generate()
        func ask(_ admin: UUID, _ change: [String: Any]) async throws -> StackClient.Reply {
            try await requests.post(
                base, as: admin,
                [
                    "accessLevel": "ADMIN_KEY", "keyChange": change,
                    "justification": "A new administrator joins the on-call rotation this week",
                ])
        }
        let proof = Base64URL.encode(
            try newKey.sign(AdminStatement.proofOfPossession(admin: newcomer, key: newKey.publicKey)))
        let unproven = try await ask(
            newcomer,
            ["action": "enrol", "publicKey": newKey.publicKey.text, "proof": Base64URL.encode(try newKey.sign([1]))])
        #expect(unproven.status == 400 && unproven.code == "INVALID_KEY_PROOF")
        let asked = try await ask(newcomer, ["action": "enrol", "publicKey": newKey.publicKey.text, "proof": proof])
        #expect(asked.status == 201, "\(asked.text)")
        let id = try requests.requestID(asked)
        // Everyone else who holds a key is the quorum, two at most.
        #expect((asked.json?["request"] as? [String: Any])?["requiredApprovals"] as? Int == 2)
        #expect(requests.status(try await requests.act(.approve, id, as: first)) == "pending")
        let applied = try await requests.act(.approve, id, as: second)
        #expect(requests.status(applied) == "executed", "\(applied.text)")
        let enrolled: [String] = try fixtures.db.query(
            "SELECT status || ' ' || enrolled_by AS s FROM vercel_admin_keys WHERE admin_id = \(newcomer)"
        ).map { try $0.decode("s") }
        #expect(enrolled == ["active quorum"])
        #expect(try requests.auditActions(of: id).contains("ADMIN_KEY_ENROLLED"))

        // The new admin's key now signs an approval.
        let newAdmin = SigningAdmin(id: newcomer, key: newKey)
        let (_, connection) = try await requests.connection()
        let access = try requests.requestID(
            try await requests.create(as: first.id, level: "READ_METADATA", connections: [connection]))
        // Its own key's revocation is decided by the others, never by the key's admin.
        let revoke = try requests.requestID(
            try await ask(first.id, ["action": "revoke", "fingerprint": newKey.publicKey.fingerprint]))
        #expect(try await requests.act(.deny, revoke, as: newAdmin).code == "OWN_KEY")
        #expect(requests.status(try await requests.act(.approve, revoke, as: second)) == "pending")
        let third = try SigningAdmin.enrolled(in: fixtures.db)
        #expect(requests.status(try await requests.act(.approve, revoke, as: third)) == "executed")
        let refused = try await requests.act(.approve, access, as: newAdmin)
        #expect(refused.status == 403 && refused.code == "SIGNATURE_KEY_REVOKED", "\(refused.text)")
        #expect(try requests.auditActions(of: revoke).contains("ADMIN_KEY_REVOKED"))
    }
}

/// `GET …/breakglass/audit` through nginx: the log a page at a time, newest first, with the chain's
/// head and whether the page fits it.
@Suite struct BreakglassAuditRouteTests {
    let client: StackClient
    let fixtures = StackFixtures()

    init() throws {
        client = try StackClient()
    }

    @Test func theLogIsPagedWithTheChainsState() async throws {
        let admin = try fixtures.user(role: "admin")
        for _ in 0..<6 {
            try SecurityAudit(database: fixtures.db).record(
                .envVariableSet, severity: .low, actor: admin)
        }
        let first = try await client.signed("GET", "/v1/admin/vercel/breakglass/audit?userId=\(admin)&limit=5")
        #expect(first.status == 200, "\(first.text)")
        let entries = try #require(first.json?["entries"] as? [[String: Any]])
        let chain = try #require(first.json?["chain"] as? [String: Any])
        #expect(entries.count == 5)
        #expect(chain["pageIntact"] as? Bool == true && chain["firstBrokenSeq"] is NSNull)
        let seqs = entries.compactMap { $0["seq"] as? Int }
        #expect(seqs == seqs.sorted(by: >) && seqs.count == 5)
        #expect(chain["headSeq"] as? Int ?? 0 >= seqs[0])
        #expect(
            entries[0]["hash"] as? String != nil
                && entries[1]["hash"] as? String == entries[0]["previousHash"] as? String)
        let next = try #require((first.json?["pagination"] as? [String: Any])?["next"] as? String)
        let second = try await client.signed(
            "GET", "/v1/admin/vercel/breakglass/audit?userId=\(admin)&limit=5&before=\(next)")
        let older = try #require(second.json?["entries"] as? [[String: Any]])
        #expect(older.first?["seq"] as? Int == seqs.last! - 1)
        #expect(older.first?["hash"] as? String == entries.last?["previousHash"] as? String)
        let bad = try await client.signed("GET", "/v1/admin/vercel/breakglass/audit?userId=\(admin)&before=abc")
        #expect(bad.status == 400 && bad.code == "INVALID_CURSOR")
        // A limit past the route's range is refused with that range, as the message says it.
        let tooMany = try await client.signed("GET", "/v1/admin/vercel/breakglass/audit?userId=\(admin)&limit=201")
        #expect(tooMany.status == 400 && tooMany.code == "INVALID_LIMIT")
        #expect(tooMany.json?["error"] as? String == "limit must be 1 to 200" && tooMany.json?["max"] as? Int == 200)
        #expect(
            try await client.signed("GET", "/v1/admin/vercel/breakglass/audit?userId=\(admin)&limit=200").status == 200)
        let user = try fixtures.user()
        #expect(
            try await client.signed("GET", "/v1/admin/vercel/breakglass/audit?userId=\(user)").code == "ADMIN_REQUIRED")
    }
}
