import Crypto
import Foundation
import Platform
import Postgres

// rekey-bench DATABASE_URL [ROWS]: seals ROWS connections' two tokens under an old key and writes
// them (the baseline: the same values written once), then re-seals them all under a new key with the
// code vercel-job-rekey runs, and prints both rates and their ratio.

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: rekey-bench DATABASE_URL [ROWS]\n".utf8))
    exit(64)
}
let rows = arguments.count > 2 ? Int(arguments[2]) ?? 20_000 : 20_000
let database = PostgresConnection(.init(url: arguments[1], statementTimeout: .seconds(600)))
let oldKey = "old1:" + Base64URL.encode(try SecureRandom.bytes(32))
let old = try KeyRing(parsing: oldKey)
let ring = try KeyRing(parsing: "new1:" + Base64URL.encode(try SecureRandom.bytes(32)) + "," + oldKey)

func seal(_ value: String, _ column: String, _ id: String) throws -> String {
    try old.seal(value, context: SealContext(table: "vercel_connections", column: column, rowID: id))
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

let owner: UUID = try database.query(
    "INSERT INTO users (email) VALUES (\("rekey-bench-\(UUID())@example.com")) RETURNING id")[0].decode("id")
let seedStart = ContinuousClock.now
// Written in transactions of 500 rows, as the rekey job commits its batches.
for start in stride(from: 0, to: rows, by: 500) {
    try database.transaction {
        for n in start..<min(start + 500, rows) {
            let id = UUID().uuidString.lowercased()
            try database.execute(
                """
                INSERT INTO vercel_connections (id, user_id, team_id, account_type, access_token_sealed, refresh_token_sealed, token_key_id)
                VALUES (\(id)::uuid, \(owner), \("team_\(n)"), 'team', \(try seal("access-\(n)", "access_token_sealed", id)),
                  \(try seal("refresh-\(n)", "refresh_token_sealed", id)), 'old1')
                """)
        }
    }
}
let seeded = seconds(ContinuousClock.now - seedStart)

let rekeyStart = ContinuousClock.now
let tally = try Rekeyer(database: database, opener: ring, sealer: ring).run()
let rekeyed = seconds(ContinuousClock.now - rekeyStart)
guard tally.rekeyed == rows * 2, tally.failed == 0 else {
    print("rekey-bench: re-sealed \(tally.rekeyed) of \(rows * 2) values, \(tally.failed) failed")
    exit(1)
}
let baseline = Double(rows * 2) / seeded
let rate = Double(tally.rekeyed) / rekeyed
print(
    String(
        format:
            "  writing %d rows sealed once (baseline)   %8.0f values/s\n  re-sealing them under a new key         %8.0f values/s   (%.1f s)\n  ratio re-seal/write = %.3f",
        rows, baseline, rate, rekeyed, rate / baseline))
