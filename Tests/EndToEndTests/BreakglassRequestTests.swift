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
        let requester = try fixtures.user(role: "admin")
        let first = try fixtures.user(role: "admin")
        let second = try fixtures.user(role: "admin")
        let created = try await create(as: requester, level: "DECRYPT_TOKENS", connections: [connection])
        #expect(created.status == 201 && status(created) == "pending", "\(created.text)")
        #expect((created.json?["request"] as? [String: Any])?["requiredApprovals"] as? Int == 2)
        let id = try requestID(created)

        let own = try await post("\(base)/\(id)/approve", as: requester)
        #expect(own.status == 403 && own.code == "SELF_APPROVAL")
        let early = try await post("\(base)/\(id)/execute", as: requester)
        #expect(early.status == 409 && early.code == "REQUEST_NOT_EXECUTABLE")
        let one = try await post("\(base)/\(id)/approve", as: first)
        #expect(one.status == 200 && status(one) == "pending", "\(one.text)")
        #expect(try await post("\(base)/\(id)/approve", as: first).code == "ALREADY_DECIDED")
        let two = try await post("\(base)/\(id)/approve", as: second)
        #expect(status(two) == "approved", "\(two.text)")
        #expect((two.json?["request"] as? [String: Any])?["windowEndsAt"] as? String != nil)

        let stranger = try await post("\(base)/\(id)/execute", as: first)
        #expect(stranger.status == 403 && stranger.code == "NOT_REQUESTER")
        let executed = try await post("\(base)/\(id)/execute", as: requester)
        #expect(executed.status == 200, "\(executed.text)")
        #expect(executed.header("cache-control") == "no-store")
        let tokens = try #require(executed.json?["tokens"] as? [[String: Any]])
        let token = try #require(tokens.first?["accessToken"] as? String)
        // The token opened is the connection's real one: Vercel (the simulator) accepts it.
        #expect(try connected.vercel.user(VercelClient.Credentials(accessToken: token)).id.isEmpty == false)
        let again = try await post("\(base)/\(id)/execute", as: requester)
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
        let listed = try await client.signed("GET", "\(base)?userId=\(first)&status=executed")
        #expect((listed.json?["requests"] as? [[String: Any]])?.contains { $0["id"] as? String == id } == true)
        #expect(!listed.text.contains(token))
    }

    @Test func oneDenialEndsARequest() async throws {
        let (_, connection) = try await connection()
        let requester = try fixtures.user(role: "admin")
        let denier = try fixtures.user(role: "admin")
        let other = try fixtures.user(role: "admin")
        let id = try requestID(try await create(as: requester, level: "DECRYPT_TOKENS", connections: [connection]))
        let denied = try await post("\(base)/\(id)/deny", as: denier)
        #expect(status(denied) == "denied", "\(denied.text)")
        let late = try await post("\(base)/\(id)/approve", as: other)
        #expect(late.status == 409 && late.code == "REQUEST_NOT_PENDING")
        #expect(try await post("\(base)/\(id)/execute", as: requester).code == "REQUEST_NOT_EXECUTABLE")
        #expect(try auditActions(of: id) == ["BREAKGLASS_REQUESTED", "BREAKGLASS_DENIED"])
    }

    @Test func aLateExecuteAndALateApprovalAreRefused() async throws {
        let (_, connection) = try await connection()
        let requester = try fixtures.user(role: "admin")
        let approver = try fixtures.user(role: "admin")
        let id = try requestID(try await create(as: requester, level: "READ_METADATA", connections: [connection]))
        #expect(status(try await post("\(base)/\(id)/approve", as: approver)) == "approved")
        // The window closed a second ago.
        try fixtures.db.execute(
            "UPDATE vercel_breakglass_requests SET window_ends_at = now() - interval '1 second' WHERE id = \(id)::uuid")
        let late = try await post("\(base)/\(id)/execute", as: requester)
        #expect(late.status == 409 && late.json?["status"] as? String == "expired", "\(late.text)")

        let pending = try requestID(try await create(as: requester, level: "READ_METADATA", connections: [connection]))
        try fixtures.db.execute(
            """
            UPDATE vercel_breakglass_requests SET created_at = now() - interval '20 minutes',
              expires_at = now() - interval '5 minutes' WHERE id = \(pending)::uuid
            """)
        let expired = try await post("\(base)/\(pending)/approve", as: approver)
        #expect(expired.status == 409 && expired.json?["status"] as? String == "expired", "\(expired.text)")
    }

    @Test func readMetadataShowsConnectionsWithoutTokens() async throws {
        let (_, connection) = try await connection()
        let requester = try fixtures.user(role: "admin")
        let approver = try fixtures.user(role: "admin")
        let id = try requestID(try await create(as: requester, level: "READ_METADATA", connections: [connection]))
        #expect((try await post("\(base)/\(id)/approve", as: approver)).status == 200)
        let executed = try await post("\(base)/\(id)/execute", as: requester)
        #expect(executed.status == 200, "\(executed.text)")
        let shown = try #require((executed.json?["connections"] as? [[String: Any]])?.first)
        #expect(
            shown["id"] as? String == connection.uuidString.lowercased() && shown["status"] as? String == "connected")
        #expect(executed.json?["tokens"] == nil || executed.json?["tokens"] is NSNull)
        #expect(!executed.text.contains("accessToken"))
    }

    @Test func aFourthRequestInADayIsRefusedWithRetryAfter() async throws {
        let (_, connection) = try await connection()
        let requester = try fixtures.user(role: "admin")
        for _ in 0..<3 {
            #expect(try await create(as: requester, level: "READ_METADATA", connections: [connection]).status == 201)
        }
        let fourth = try await create(as: requester, level: "READ_METADATA", connections: [connection])
        #expect(fourth.status == 429 && fourth.code == "RATE_LIMITED", "\(fourth.text)")
        let wait = try #require(fourth.json?["retryAfter"] as? Int)
        #expect(wait > 86_000 && wait <= 86_400)
        #expect(fourth.header("retry-after") == "\(wait)")
    }

    @Test func badRequestsAreRefusedWithACode() async throws {
        let (_, connection) = try await connection()
        let requester = try fixtures.user(role: "admin")
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
            #expect(try await post(base, as: requester, fields).code == code)
        }
        #expect(try await post("\(base)/\(UUID())/approve", as: requester).code == "REQUEST_NOT_FOUND")
        // None of them counted toward the day's limit.
        #expect(try await create(as: requester, level: "READ_METADATA", connections: [connection]).status == 201)
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
