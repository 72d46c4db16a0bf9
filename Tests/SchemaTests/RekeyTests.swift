import Crypto
import Foundation
import Platform
import Postgres
import TestSupport
import Testing

/// Rotation without downtime: `vercel-job-rekey` re-seals every value whose key is not the ring's
/// current one, after which the old key can leave the ring.
@Suite struct RekeyTests {
    static let old = "old1:" + Base64URL.encode([UInt8](repeating: 7, count: 32))
    static let new = "new1:" + Base64URL.encode([UInt8](repeating: 9, count: 32))

    /// `count` connections with both tokens sealed under `ring`; their ids and access tokens.
    func connections(_ db: PostgresConnection, count: Int, ring: KeyRing) throws -> [(UUID, String)] {
        let owner: UUID = try db.query(
            "INSERT INTO users (email) VALUES (\(UUID().uuidString + "@example.com")) RETURNING id")[0]
            .decode("id")
        return try (0..<count).map { n in
            let id = UUID()
            let row = id.uuidString.lowercased()
            let token = "access-token-\(n)-\(UUID().uuidString)"
            let access = try ring.seal(
                token, context: SealContext(table: "vercel_connections", column: "access_token_sealed", rowID: row))
            let refresh = try ring.seal(
                "refresh-\(n)",
                context: SealContext(table: "vercel_connections", column: "refresh_token_sealed", rowID: row))
            try db.execute(
                """
                INSERT INTO vercel_connections (id, user_id, team_id, account_type, access_token_sealed, refresh_token_sealed, token_key_id)
                VALUES (\(id), \(owner), \("team_\(n)"), 'team', \(access), \(refresh), split_part(\(access), '.', 2))
                """)
            return (id, token)
        }
    }

    func runJob(_ database: TestDatabase, keys: String) throws -> (status: Int32, log: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try TestEnvironment.require("TEST_BIN_DIR") + "/vercel-job-rekey")
        process.environment = ["DATABASE_URL": database.url, "TOKEN_ENCRYPTION_KEYS": keys, "PATH": "/usr/bin:/bin"]
        let pipe = Pipe()
        process.standardError = pipe
        try process.run()
        let log = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, log)
    }

    @Test func everyValueMovesToTheCurrentKeyAndTheOldKeyCanLeave() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let db = database.connect()
        let written = try connections(db, count: 1200, ring: try KeyRing(parsing: Self.old))
        // A value under a key no longer anywhere: left as it is, counted.
        let lost = try connections(
            db, count: 1, ring: try KeyRing(parsing: "gone:" + Base64URL.encode([UInt8](repeating: 1, count: 32))))

        let run = try runJob(database, keys: "\(Self.new),\(Self.old)")
        #expect(run.status == 0, "\(run.log)")
        #expect(
            run.log.contains("\"rekey.rekeyed\":2400") && run.log.contains("\"rekey.failed\":2"), "\(run.log)")
        #expect(!run.log.contains("access-token-"))

        // The new key alone opens every value that was under the old one.
        let store = ConnectionStore(database: db, keyRing: try KeyRing(parsing: Self.new))
        for (id, token) in written.shuffled().prefix(50) {
            #expect(try store.credential(id).accessToken == token)
        }
        let left: Int = try db.query(
            "SELECT count(*) AS n FROM vercel_connections WHERE token_key_id <> 'new1' OR split_part(refresh_token_sealed, '.', 2) <> 'new1'"
        )[0].decode("n")
        #expect(left == 1)
        #expect(
            try db.query("SELECT token_key_id FROM vercel_connections WHERE id = \(lost[0].0)")[0]["token_key_id"]
                == "gone")
        // A second run finds nothing to do.
        let again = try runJob(database, keys: "\(Self.new),\(Self.old)")
        #expect(again.log.contains("\"rekey.rekeyed\":0"), "\(again.log)")
    }

    /// Every column of the schema that holds a sealed value is walked by rotation and recovery, or
    /// is named here with the reason it is not.
    @Test func theCatalogueCoversEverySealedColumn() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let columns = Set(
            try database.connect().query(
                """
                SELECT table_name || '.' || column_name AS name FROM information_schema.columns
                WHERE table_schema = 'public' AND column_name LIKE '%\\_sealed'
                """
            ).map { try $0.decode("name", as: String.self) })
        let notWalked: Set = [
            // Shares of a recovery in progress: discarded when it ends, never rotated.
            "vercel_key_recovery_shares.share_sealed"
        ]
        #expect(columns == Set(SealedColumn.all.map(\.name)).union(notWalked))
    }
}
