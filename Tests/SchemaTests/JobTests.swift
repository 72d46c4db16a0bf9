import Foundation
import Postgres
import TestSupport
import Testing

/// The cron jobs as binaries, against a database of their own.
@Suite struct JobTests {
    let database: TestDatabase

    init() throws {
        database = try TestDatabase.create()
    }

    func run(_ job: String) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try TestEnvironment.require("TEST_BIN_DIR") + "/" + job)
        process.environment = ["DATABASE_URL": database.url, "PATH": "/usr/bin:/bin"]
        let pipe = Pipe()
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    @Test func noncePruneRemovesExactlyTheExpiredNoncesAndUnconfirmedAuthorizations() throws {
        defer { database.drop() }
        let db = database.connect()
        try db.execute(
            """
            INSERT INTO vercel_request_nonces (nonce, seen_at) VALUES
              ('v2:old-1', now() - interval '11 minutes'), ('v2:old-2', now() - interval '2 hours'),
              ('v2:fresh', now() - interval '9 minutes'), ('v2:now', now())
            """)
        let user: String = try db.query("INSERT INTO users (email) VALUES ('prune@example.com') RETURNING id")[0]
            .decode("id")
        try db.execute(
            """
            INSERT INTO vercel_oauth_confirmations (token_hash, user_id, grant_sealed, created_at, expires_at) VALUES
              (repeat('a', 64), \(user)::uuid, 'v1.k.x.y', now() - interval '20 minutes', now() - interval '10 minutes'),
              (repeat('b', 64), \(user)::uuid, 'v1.k.x.y', now(), now() + interval '10 minutes')
            """)
        let result = try run("vercel-job-nonce-prune")
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains(#""nonces.removed":2"#))
        #expect(result.output.contains(#""confirmations.removed":1"#))
        #expect(
            try db.query("SELECT nonce FROM vercel_request_nonces ORDER BY nonce").map { $0["nonce"] } == [
                "v2:fresh", "v2:now",
            ])
        #expect(
            try db.query("SELECT left(token_hash, 1) AS h FROM vercel_oauth_confirmations").map { $0["h"] } == ["b"])
    }

    @Test func aRunThatFindsTheLockHeldSkipsAndChangesNothing() throws {
        defer { database.drop() }
        let db = database.connect()
        try db.execute(
            "INSERT INTO vercel_request_nonces (nonce, seen_at) VALUES ('v2:old', now() - interval '1 hour')")
        let result = try db.withAdvisoryLock("sheen.vercel.job.vercel-job-nonce-prune") {
            try run("vercel-job-nonce-prune")
        }
        #expect(result.status == 0)
        #expect(result.output.contains("skipped"))
        #expect(try db.query("SELECT count(*) AS n FROM vercel_request_nonces")[0]["n"] == "1")
    }

    @Test func thePartitionsJobKeepsThreeMonthsAheadAndDropsThoseOlderThanSix() throws {
        defer { database.drop() }
        let db = database.connect()
        try db.executeScript(
            """
            DO $$
            DECLARE low timestamptz := date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - interval '7 months';
            BEGIN
              EXECUTE format('CREATE TABLE %I PARTITION OF vercel_deployments FOR VALUES FROM (%L) TO (%L)',
                'vercel_deployments_' || to_char(low AT TIME ZONE 'UTC', 'YYYY_MM'), low, low + interval '1 month');
            END $$;
            """)
        let ahead = try db.query(
            "SELECT 'vercel_deployments_' || to_char(date_trunc('month', now() AT TIME ZONE 'UTC') + interval '3 months', 'YYYY_MM') AS name"
        )[0]["name"]!
        try db.executeScript("DROP TABLE \(ahead)")
        let result = try run("vercel-job-partitions")
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains(#""partitions.created":1"#))
        #expect(result.output.contains(#""partitions.dropped":1"#))
        let names = try db.query(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'vercel_deployments'::regclass ORDER BY 1"
        ).compactMap { $0["relname"] }
        #expect(names.count == 5)
        #expect(names.contains(ahead))
        #expect(names.contains("vercel_deployments_default"))
    }

    @Test func webhookCleanupRemovesExactlyTheDeliveriesOlderThanSevenDays() throws {
        defer { database.drop() }
        let db = database.connect()
        let hash = String(repeating: "a", count: 64)
        try db.execute(
            """
            INSERT INTO vercel_webhook_dedup (event_id, payload_hash, processed_at) VALUES
              ('old-1', \(hash), now() - interval '8 days'), ('old-2', \(hash), now() - interval '30 days'),
              ('edge', \(hash), now() - interval '6 days 23 hours'), ('new', \(hash), now())
            """)
        let result = try run("vercel-job-webhook-cleanup")
        #expect(result.status == 0 && result.output.contains(#""deliveries.removed":2"#))
        #expect(
            try db.query("SELECT event_id FROM vercel_webhook_dedup ORDER BY event_id").map { $0["event_id"] } == [
                "edge", "new",
            ])
        // A second run while another holds the lock skips.
        let skipped = try db.withAdvisoryLock("sheen.vercel.job.vercel-job-webhook-cleanup") {
            try run("vercel-job-webhook-cleanup")
        }
        #expect(skipped.status == 0 && skipped.output.contains("skipped"))
    }

    @Test func aJobWithoutADatabaseURLExitsMisconfigured() throws {
        let process = Process()
        process.executableURL = URL(
            fileURLWithPath: try TestEnvironment.require("TEST_BIN_DIR") + "/vercel-job-partitions")
        process.environment = [:]
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 78)
        database.drop()
    }
}
