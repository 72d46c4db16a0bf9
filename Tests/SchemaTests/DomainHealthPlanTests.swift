import Foundation
import Platform
import Postgres
import TestSupport
import Testing

/// The health job's claim reads only the domains that are due: with 20,000 domains of which five
/// are due, its plan goes through `vercel_domains_due_idx` and never scans the table.
@Suite struct DomainHealthPlanTests {
    @Test func theClaimCostsTheDomainsDueNotAllDomains() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let db = database.connect()
        let owner: UUID = try db.query("INSERT INTO users (email) VALUES ('plan@example.com') RETURNING id")[0]
            .decode("id")
        let project: UUID = try db.query(
            "INSERT INTO projects (owner_id, name) VALUES (\(owner), 'plan') RETURNING id")[0].decode("id")
        let connection: UUID = try db.query(
            "INSERT INTO vercel_connections (user_id, account_type, status) VALUES (\(owner), 'personal', 'revoked') RETURNING id"
        )[0].decode("id")
        let mapping: UUID = try db.query(
            """
            INSERT INTO vercel_project_mappings (project_id, vercel_connection_id, vercel_project_id)
            VALUES (\(project), \(connection), 'prj_plan') RETURNING id
            """)[0].decode("id")
        try db.execute(
            """
            INSERT INTO vercel_domains (project_id, vercel_project_mapping_id, name, state, next_check_at)
            SELECT \(project), \(mapping), 'd' || i || '.example.com',
                   CASE WHEN i % 10 = 0 THEN 'removed' ELSE 'active' END,
                   CASE WHEN i <= 5 THEN now() - interval '1 minute' ELSE now() + (1 + i % 3600) * interval '1 second' END
            FROM generate_series(1, 20000) AS i
            """)
        try db.execute("ANALYZE vercel_domains")

        let plan = try db.query(
            SQL.explain(DomainStore.claimStatement(limit: 50, lease: 300))
        ).map { try $0.decode("QUERY PLAN", as: String.self) }.joined()
        #expect(plan.contains("vercel_domains_due_idx"), "\(plan)")
        #expect(!plan.contains("Seq Scan"), "\(plan)")

        let claimed = try DomainStore(database: db).claimDue(limit: 50)
        #expect(
            claimed.map(\.name).sorted() == [
                "d1.example.com", "d2.example.com", "d3.example.com", "d4.example.com", "d5.example.com",
            ])
        // Claimed: pushed out, so a second run right after finds nothing.
        #expect(try DomainStore(database: db).claimDue(limit: 50).isEmpty)
    }
}
