import Foundation
import Postgres
import TestSupport
import Testing

/// Each fix of DESIGN.md's "Seed errata", on real Postgres.
@Suite struct SchemaErrataTests {
    let database: TestDatabase
    let db: PostgresConnection

    init() throws {
        database = try TestDatabase.create()
        db = database.connect()
    }

    func user(role: String = "user") throws -> UUID {
        try db.query(
            "INSERT INTO users (email, role) VALUES (\(UUID().uuidString + "@example.com"), \(role)) RETURNING id")[0]
            .decode("id")
    }

    func project(owner: UUID) throws -> UUID {
        try db.query("INSERT INTO projects (owner_id, name) VALUES (\(owner), 'p') RETURNING id")[0].decode("id")
    }

    func connection(user: UUID, team: String?) throws {
        try db.execute(
            """
            INSERT INTO vercel_connections (user_id, team_id, account_type, access_token_sealed)
            VALUES (\(user), \(team), \(team == nil ? "personal" : "team"), 'v1.k.iv.ct')
            """)
    }

    func expectViolation(_ state: String, _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("expected SQLSTATE \(state)")
        } catch let error as PostgresError {
            #expect(error.sqlState == state, "\(error)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    // Erratum: UNIQUE ... WHERE inside CREATE TABLE → partial unique indexes.
    @Test func oneConnectionPerUserAndOnePerUserAndTeam() throws {
        defer { database.drop() }
        let alice = try user()
        try connection(user: alice, team: nil)
        try connection(user: alice, team: "team_a")
        try connection(user: alice, team: "team_b")
        expectViolation("23505") { try connection(user: alice, team: nil) }
        expectViolation("23505") { try connection(user: alice, team: "team_a") }
        let bob = try user()
        try connection(user: bob, team: "team_a")
        try connection(user: bob, team: nil)
    }

    @Test func aConnectedConnectionMustHoldASealedToken() throws {
        defer { database.drop() }
        let alice = try user()
        expectViolation("23514") {
            try db.execute(
                "INSERT INTO vercel_connections (user_id, account_type, status) VALUES (\(alice), 'personal', 'connected')"
            )
        }
        expectViolation("23514") {
            try db.execute(
                "INSERT INTO vercel_connections (user_id, account_type, access_token_sealed) VALUES (\(alice), 'personal', 'plaintext-token')"
            )
        }
        try db.execute(
            "INSERT INTO vercel_connections (user_id, account_type, status) VALUES (\(alice), 'personal', 'disconnected')"
        )
    }

    // Erratum: a partitioned table cannot be UNIQUE(deployment_id); upserts stay idempotent.
    static func upsertDeployment(
        _ id: String, project: UUID, state: String, proposed: Date, on connection: PostgresConnection
    ) throws {
        try connection.execute(
            """
            INSERT INTO vercel_deployments (deployment_id, created_at, project_id, deployment_type, deployment_state)
            VALUES (\(id), vercel_deployment_created_at(\(id), \(proposed)), \(project), 'PREVIEW', \(state)::vercel_deploy_state)
            ON CONFLICT (deployment_id, created_at) DO UPDATE SET deployment_state = EXCLUDED.deployment_state, updated_at = now()
            """)
    }

    @Test func deploymentsUpsertByDeploymentIDWhateverTimeEachWriterProposes() throws {
        defer { database.drop() }
        let owner = try user()
        let project = try project(owner: owner)
        let first = Date()
        try Self.upsertDeployment("dpl_1", project: project, state: "QUEUED", proposed: first, on: db)
        try Self.upsertDeployment(
            "dpl_1", project: project, state: "BUILDING", proposed: first.addingTimeInterval(86_400 * 40), on: db)
        let rows = try db.query(
            "SELECT deployment_state::text AS state, tableoid::regclass::text AS part FROM vercel_deployments WHERE deployment_id = 'dpl_1'"
        )
        #expect(rows.count == 1)
        #expect(rows.first?["state"] == "BUILDING")
        #expect(rows.first?["part"]?.hasPrefix("vercel_deployments_2") == true)
    }

    @Test func concurrentUpsertsOfOneDeploymentLeaveOneRow() async throws {
        defer { database.drop() }
        let owner = try user()
        let project = try project(owner: owner)
        let database = self.database
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<8 {
                group.addTask {
                    let connection = database.connect()
                    for round in 0..<20 {
                        let proposed = Date().addingTimeInterval(Double(writer * 86_400 * 10 + round))
                        try Self.upsertDeployment(
                            "dpl_race_\(round)", project: project, state: "QUEUED", proposed: proposed, on: connection)
                    }
                }
            }
            try await group.waitForAll()
        }
        let counts = try db.query(
            "SELECT count(*) AS rows, count(DISTINCT deployment_id) AS ids FROM vercel_deployments")
        #expect(counts.first?["rows"] == "20")
        #expect(counts.first?["ids"] == "20")
    }

    // Erratum: the partition function was never defined; DEFAULT rows block new partitions.
    @Test func partitionsExistFromThisMonthToThreeMonthsAhead() throws {
        defer { database.drop() }
        let rows = try db.query(
            """
            SELECT count(*) AS present FROM generate_series(0, 3) AS i
            WHERE to_regclass('vercel_deployments_' || to_char(date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => i), 'YYYY_MM')) IS NOT NULL
            """)
        #expect(rows.first?["present"] == "4")
    }

    @Test func rowsInTheDefaultPartitionMoveIntoTheirNewPartition() throws {
        defer { database.drop() }
        let owner = try user()
        let project = try project(owner: owner)
        let later = try db.query("SELECT (date_trunc('month', now()) + interval '5 months 3 days')::timestamptz AS at")[
            0
        ].decode("at", as: Date.self)
        try Self.upsertDeployment("dpl_future", project: project, state: "QUEUED", proposed: later, on: db)
        #expect(
            try db.query("SELECT tableoid::regclass::text AS part FROM vercel_deployments")[0]["part"]
                == "vercel_deployments_default")
        let created = try db.query("SELECT vercel_ensure_deployment_partitions(6) AS created")[0].decode(
            "created", as: Int.self)
        #expect(created == 3)
        let part = try db.query(
            "SELECT tableoid::regclass::text AS part FROM vercel_deployments WHERE deployment_id = 'dpl_future'")[0][
                "part"]
        let expected = try db.query(
            "SELECT 'vercel_deployments_' || to_char(\(later)::timestamptz AT TIME ZONE 'UTC', 'YYYY_MM') AS name")[0][
                "name"]
        #expect(part == expected)
        #expect(try db.query("SELECT vercel_ensure_deployment_partitions(6) AS created")[0]["created"] == "0")
    }

    // Erratum: DROP TABLE by string concatenation → format('%I') inside the function.
    @Test func partitionsOlderThanSixMonthsAreDroppedWithTheirKeys() throws {
        defer { database.drop() }
        let owner = try user()
        let project = try project(owner: owner)
        try db.executeScript(
            """
            DO $$
            DECLARE low timestamptz := date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - interval '8 months';
            BEGIN
              EXECUTE format('CREATE TABLE %I PARTITION OF vercel_deployments FOR VALUES FROM (%L) TO (%L)',
                'vercel_deployments_' || to_char(low AT TIME ZONE 'UTC', 'YYYY_MM'), low, low + interval '1 month');
            END $$;
            """)
        let old = try db.query(
            "SELECT (date_trunc('month', now()) - interval '8 months' + interval '2 days')::timestamptz AS at")[0]
            .decode("at", as: Date.self)
        try Self.upsertDeployment("dpl_old", project: project, state: "READY", proposed: old, on: db)
        try Self.upsertDeployment("dpl_new", project: project, state: "READY", proposed: Date(), on: db)
        #expect(try db.query("SELECT vercel_drop_old_deployment_partitions(6) AS dropped")[0]["dropped"] == "1")
        let left = try db.query("SELECT deployment_id FROM vercel_deployments ORDER BY deployment_id").map {
            $0["deployment_id"]
        }
        #expect(left == ["dpl_new"])
        #expect(
            try db.query("SELECT count(*) AS keys FROM vercel_deployment_keys WHERE deployment_id = 'dpl_old'")[0][
                "keys"] == "0")
        #expect(try db.query("SELECT vercel_drop_old_deployment_partitions(6) AS dropped")[0]["dropped"] == "0")
    }

    // Errata: two ON CONFLICT clauses; NOW() in an index predicate.
    @Test func webhookDeliveriesDeduplicateByEventIDOrByDeploymentAndBodyHash() throws {
        defer { database.drop() }
        let hashA = String(repeating: "a", count: 64)
        let hashB = String(repeating: "b", count: 64)
        func record(_ event: String?, _ deployment: String?, _ hash: String) throws -> Int {
            try db.execute(
                "INSERT INTO vercel_webhook_dedup (event_id, deployment_id, payload_hash) VALUES (\(event), \(deployment), \(hash)) ON CONFLICT DO NOTHING"
            )
        }
        #expect(try record("evt_1", "dpl_1", hashA) == 1)
        #expect(try record("evt_1", "dpl_1", hashB) == 0)
        #expect(try record("evt_2", "dpl_1", hashA) == 1)
        #expect(try record(nil, "dpl_1", hashA) == 1)
        #expect(try record(nil, "dpl_1", hashA) == 0)
        #expect(try record(nil, "dpl_2", hashA) == 1)
        let predicates = try db.query(
            "SELECT count(*) AS volatile FROM pg_indexes WHERE tablename = 'vercel_webhook_dedup' AND indexdef ILIKE '%now()%'"
        )
        #expect(predicates.first?["volatile"] == "0")
    }

    // Erratum: access_level spellings differed between the CHECK and the code.
    @Test(arguments: ["READ_METADATA", "DECRYPT_TOKENS", "EMERGENCY_RECOVERY"])
    func breakGlassAccessLevelsAreSpelledAsTheCodeSpellsThem(level: String) throws {
        defer { database.drop() }
        let admin = try user(role: "admin")
        try db.execute(breakGlassRequest(by: admin, level: level))
    }

    @Test func misspelledAccessLevelsAreRefused() throws {
        defer { database.drop() }
        let admin = try user(role: "admin")
        expectViolation("23514") { try db.execute(breakGlassRequest(by: admin, level: "READ_metadata")) }
        expectViolation("23514") { try db.execute(breakGlassRequest(by: admin, level: "decrypt_tokens")) }
    }

    func breakGlassRequest(by admin: UUID, level: String) -> SQL {
        """
        INSERT INTO vercel_breakglass_requests (requested_by, justification, access_level, required_approvals, expires_at)
        VALUES (\(admin), 'Investigating refresh failures for a customer', \(level), 2, now() + interval '15 minutes')
        """
    }

    // Erratum: approvers in a request body prove nothing; each approval is a distinct admin, not the requester.
    @Test func approvalsComeFromDistinctAdminsOtherThanTheRequester() throws {
        defer { database.drop() }
        let requester = try user(role: "admin")
        let approver = try user(role: "admin")
        let plain = try user()
        let request: UUID = try db.query(
            """
            INSERT INTO vercel_breakglass_requests (requested_by, justification, access_level, required_approvals, expires_at)
            VALUES (\(requester), 'Service recovery after a key ring outage', 'DECRYPT_TOKENS', 2, now() + interval '15 minutes')
            RETURNING id
            """)[0].decode("id")
        func approve(_ who: UUID) throws {
            try db.execute(
                "INSERT INTO vercel_breakglass_approvals (request_id, approver_id, decision) VALUES (\(request), \(who), 'approve')"
            )
        }
        expectViolation("23514") { try approve(requester) }
        expectViolation("23514") { try approve(plain) }
        try approve(approver)
        expectViolation("23505") { try approve(approver) }
    }

    @Test func theSecurityAuditLogIsAppendOnly() throws {
        defer { database.drop() }
        try db.execute("INSERT INTO vercel_security_audit_log (action, severity) VALUES ('TEST', 'LOW')")
        expectViolation("42501") { try db.execute("UPDATE vercel_security_audit_log SET action = 'CHANGED'") }
        expectViolation("42501") { try db.execute("DELETE FROM vercel_security_audit_log") }
        expectViolation("42501") { try db.execute("TRUNCATE vercel_security_audit_log") }
        #expect(try db.query("SELECT action FROM vercel_security_audit_log")[0]["action"] == "TEST")
    }

    @Test func overrideTokensCannotBeUsedMoreThanTheirMaximum() throws {
        defer { database.drop() }
        let owner = try user()
        let project = try project(owner: owner)
        try db.execute(
            """
            INSERT INTO vercel_override_tokens (project_id, token_hash, reason, created_by, expires_at, max_uses)
            VALUES (\(project), \(String(repeating: "c", count: 64)), 'hotfix', \(owner), now() + interval '1 hour', 1)
            """)
        #expect(try db.execute("UPDATE vercel_override_tokens SET uses = uses + 1") == 1)
        expectViolation("23514") { try db.execute("UPDATE vercel_override_tokens SET uses = uses + 1") }
    }
}
