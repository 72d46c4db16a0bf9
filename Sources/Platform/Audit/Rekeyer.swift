import Crypto
import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Every column that holds a sealed value, and how to walk it: a new sealed column is added here, or
/// rotation and recovery would leave it behind (a test compares this list with the schema).
public struct SealedColumn: Sendable {
    /// `table.column`.
    public let name: String
    /// Up to `limit` rows after `after` (in row order) whose value is not sealed under `current`,
    /// locked, skipping rows another run holds.
    let select: @Sendable (_ after: String, _ limit: Int, _ current: String) -> SQL
    /// Replaces the value of `row` if it is still `old`.
    let update: @Sendable (_ row: String, _ old: String, _ new: String) -> SQL
    let context: @Sendable (_ row: String) -> SealContext
    /// Where the walk starts: a value every row id sorts after.
    let start: String

    public static let all: [SealedColumn] = [
        SealedColumn(
            name: "vercel_connections.access_token_sealed",
            select: { after, limit, current in
                """
                SELECT id::text AS row_id, access_token_sealed AS sealed FROM vercel_connections
                WHERE id > \(after)::uuid AND access_token_sealed IS NOT NULL
                  AND (split_part(access_token_sealed, '.', 2) < \(current) OR split_part(access_token_sealed, '.', 2) > \(current))
                ORDER BY id LIMIT \(limit) FOR UPDATE SKIP LOCKED
                """
            },
            update: { row, old, new in
                """
                UPDATE vercel_connections SET access_token_sealed = \(new), token_key_id = split_part(\(new), '.', 2)
                WHERE id = \(row)::uuid AND access_token_sealed = \(old)
                """
            },
            context: { SealContext(table: "vercel_connections", column: "access_token_sealed", rowID: $0) },
            start: "00000000-0000-0000-0000-000000000000"),
        SealedColumn(
            name: "vercel_connections.refresh_token_sealed",
            select: { after, limit, current in
                """
                SELECT id::text AS row_id, refresh_token_sealed AS sealed FROM vercel_connections
                WHERE id > \(after)::uuid AND refresh_token_sealed IS NOT NULL
                  AND (split_part(refresh_token_sealed, '.', 2) < \(current) OR split_part(refresh_token_sealed, '.', 2) > \(current))
                ORDER BY id LIMIT \(limit) FOR UPDATE SKIP LOCKED
                """
            },
            update: { row, old, new in
                """
                UPDATE vercel_connections SET refresh_token_sealed = \(new)
                WHERE id = \(row)::uuid AND refresh_token_sealed = \(old)
                """
            },
            context: { SealContext(table: "vercel_connections", column: "refresh_token_sealed", rowID: $0) },
            start: "00000000-0000-0000-0000-000000000000"),
        SealedColumn(
            name: "vercel_oauth_states.code_verifier_sealed",
            select: { after, limit, current in
                """
                SELECT state_hash AS row_id, code_verifier_sealed AS sealed FROM vercel_oauth_states
                WHERE state_hash > \(after) AND code_verifier_sealed IS NOT NULL
                  AND (split_part(code_verifier_sealed, '.', 2) < \(current) OR split_part(code_verifier_sealed, '.', 2) > \(current))
                ORDER BY state_hash LIMIT \(limit) FOR UPDATE SKIP LOCKED
                """
            },
            update: { row, old, new in
                """
                UPDATE vercel_oauth_states SET code_verifier_sealed = \(new)
                WHERE state_hash = \(row) AND code_verifier_sealed = \(old)
                """
            },
            context: { SealContext(table: "vercel_oauth_states", column: "code_verifier_sealed", rowID: $0) },
            start: ""),
        SealedColumn(
            name: "vercel_oauth_confirmations.grant_sealed",
            select: { after, limit, current in
                """
                SELECT token_hash AS row_id, grant_sealed AS sealed FROM vercel_oauth_confirmations
                WHERE token_hash > \(after) AND (split_part(grant_sealed, '.', 2) < \(current) OR split_part(grant_sealed, '.', 2) > \(current))
                ORDER BY token_hash LIMIT \(limit) FOR UPDATE SKIP LOCKED
                """
            },
            update: { row, old, new in
                """
                UPDATE vercel_oauth_confirmations SET grant_sealed = \(new)
                WHERE token_hash = \(row) AND grant_sealed = \(old)
                """
            },
            context: { SealContext(table: "vercel_oauth_confirmations", column: "grant_sealed", rowID: $0) },
            start: ""),
        SealedColumn(
            name: "vercel_local_env_vars.value_sealed",
            select: { after, limit, current in
                """
                SELECT id::text AS row_id, value_sealed AS sealed FROM vercel_local_env_vars
                WHERE id > \(after)::uuid AND (split_part(value_sealed, '.', 2) < \(current) OR split_part(value_sealed, '.', 2) > \(current))
                ORDER BY id LIMIT \(limit) FOR UPDATE SKIP LOCKED
                """
            },
            update: { row, old, new in
                """
                UPDATE vercel_local_env_vars SET value_sealed = \(new) WHERE id = \(row)::uuid AND value_sealed = \(old)
                """
            },
            context: { SealContext(table: "vercel_local_env_vars", column: "value_sealed", rowID: $0) },
            start: "00000000-0000-0000-0000-000000000000"),
        SealedColumn(
            name: "vercel_git_provider_credentials.webhook_secret_sealed",
            select: { after, limit, current in
                """
                SELECT id::text AS row_id, webhook_secret_sealed AS sealed FROM vercel_git_provider_credentials
                WHERE id > \(after)::uuid AND webhook_secret_sealed IS NOT NULL
                  AND (split_part(webhook_secret_sealed, '.', 2) < \(current) OR split_part(webhook_secret_sealed, '.', 2) > \(current))
                ORDER BY id LIMIT \(limit) FOR UPDATE SKIP LOCKED
                """
            },
            update: { row, old, new in
                """
                UPDATE vercel_git_provider_credentials SET webhook_secret_sealed = \(new) WHERE id = \(row)::uuid AND webhook_secret_sealed = \(old)
                """
            },
            context: {
                SealContext(table: "vercel_git_provider_credentials", column: "webhook_secret_sealed", rowID: $0)
            },
            start: "00000000-0000-0000-0000-000000000000"),
        SealedColumn(
            name: "vercel_git_provider_credentials.previous_webhook_secret_sealed",
            select: { after, limit, current in
                """
                SELECT id::text AS row_id, previous_webhook_secret_sealed AS sealed FROM vercel_git_provider_credentials
                WHERE id > \(after)::uuid AND previous_webhook_secret_sealed IS NOT NULL
                  AND (split_part(previous_webhook_secret_sealed, '.', 2) < \(current) OR split_part(previous_webhook_secret_sealed, '.', 2) > \(current))
                ORDER BY id LIMIT \(limit) FOR UPDATE SKIP LOCKED
                """
            },
            update: { row, old, new in
                """
                UPDATE vercel_git_provider_credentials SET previous_webhook_secret_sealed = \(new) WHERE id = \(row)::uuid AND previous_webhook_secret_sealed = \(old)
                """
            },
            context: {
                SealContext(
                    table: "vercel_git_provider_credentials", column: "previous_webhook_secret_sealed", rowID: $0)
            },
            start: "00000000-0000-0000-0000-000000000000"),
        SealedColumn(
            name: "vercel_git_provider_credentials.access_token_sealed",
            select: { after, limit, current in
                """
                SELECT id::text AS row_id, access_token_sealed AS sealed FROM vercel_git_provider_credentials
                WHERE id > \(after)::uuid AND access_token_sealed IS NOT NULL
                  AND (split_part(access_token_sealed, '.', 2) < \(current) OR split_part(access_token_sealed, '.', 2) > \(current))
                ORDER BY id LIMIT \(limit) FOR UPDATE SKIP LOCKED
                """
            },
            update: { row, old, new in
                """
                UPDATE vercel_git_provider_credentials SET access_token_sealed = \(new) WHERE id = \(row)::uuid AND access_token_sealed = \(old)
                """
            },
            context: {
                SealContext(table: "vercel_git_provider_credentials", column: "access_token_sealed", rowID: $0)
            },
            start: "00000000-0000-0000-0000-000000000000"),
    ]
}

/// The values to re-seal are read as two ranges of their key id (below and above the current one),
/// which the key-id indexes of migration 099 answer without a scan when there are none.
/// Re-seals values under the ring's current key, a batch per transaction, so a run that stops
/// halfway leaves every value readable and the next run goes on from what is left. Plaintexts live
/// only for the moment between opening and sealing, and are never logged.
public struct Rekeyer {
    let database: PostgresConnection
    /// Opens the old values: the ring, or the ring with a recovered key.
    let opener: KeyRing
    /// Seals the new ones: the ring's current key.
    let sealer: KeyRing

    public init(database: PostgresConnection, opener: KeyRing, sealer: KeyRing) {
        self.database = database
        self.opener = opener
        self.sealer = sealer
    }

    public struct Tally: Sendable, Equatable {
        public var rekeyed = 0
        /// Values that could not be opened (a key the opener does not hold, or a tampered value):
        /// left as they are.
        public var failed = 0
        public var failedRows: [String] = []

        public init() {}
    }

    /// Re-seals every value of `columns` not under the current key; with `onlyKeyID`, only those
    /// sealed under that key.
    public func run(
        _ columns: [SealedColumn] = SealedColumn.all, onlyKeyID: String? = nil, batch: Int = 500
    ) throws -> Tally {
        var tally = Tally()
        for column in columns {
            try column.walk(database, batch: batch, current: sealer.currentKeyID) { id, old in
                if let onlyKeyID, (try? KeyRing.keyID(of: old)) != onlyKeyID { return }
                do {
                    let plaintext = try opener.open(old, context: column.context(id))
                    let new = try sealer.seal(plaintext, context: column.context(id))
                    tally.rekeyed += try database.execute(column.update(id, old, new))
                } catch is CryptoError {
                    tally.failed += 1
                    if tally.failedRows.count < 100 { tally.failedRows.append("\(column.name) \(id)") }
                }
            }
        }
        return tally
    }
}

/// Whether every sealed value opens with a ring: what a restore drill asks of a database restored
/// with the key ring kept apart from it. It changes nothing and drops each plaintext at once; it
/// walks the columns as the re-keying does (a batch per transaction, rows another transaction
/// holds skipped), so on a database in service its count may miss rows in use at that moment.
public struct SealedValueCheck {
    public struct Tally: Sendable, Equatable {
        public var opened = 0
        public var failed = 0
        /// `table.column row` of the first hundred that did not open.
        public var failedRows: [String] = []
    }

    public static func run(
        database: PostgresConnection, ring: KeyRing, columns: [SealedColumn] = SealedColumn.all, batch: Int = 1000
    ) throws -> Tally {
        var tally = Tally()
        for column in columns {
            // Under no current key: every row with a value, whatever its key.
            try column.walk(database, batch: batch, current: "") { id, sealed in
                if (try? ring.open(sealed, context: column.context(id))) != nil {
                    tally.opened += 1
                } else {
                    tally.failed += 1
                    if tally.failedRows.count < 100 { tally.failedRows.append("\(column.name) \(id)") }
                }
            }
        }
        return tally
    }
}

extension SealedColumn {
    /// Every row `select` finds for `current`, a batch per transaction (its rows locked, those
    /// another transaction holds skipped): `body` sees each row's id and sealed value inside it.
    func walk(
        _ database: PostgresConnection, batch: Int, current: String,
        _ body: (_ id: String, _ sealed: String) throws -> Void
    ) throws {
        var after = start
        while true {
            let (count, last) = try database.transaction { () throws -> (Int, String?) in
                let rows = try database.query(select(after, batch, current))
                for row in rows { try body(try row.decode("row_id"), try row.decode("sealed")) }
                return (rows.count, try rows.last?.decode("row_id"))
            }
            guard let last, count == batch else { break }
            after = last
        }
    }
}
