import Crypto
import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The security audit log's hash chain (migration 094), checked with this code rather than the
/// database's: each row's hash is SHA-256 over the previous row's hash, `|`, and the row's canonical
/// encoding (each field as `<bytes>:<text>`, `-` for NULL, joined by `|`). A row edited, deleted or
/// moved breaks the chain at that row; a deleted tail leaves a whole chain, shorter than a checkpoint
/// taken before, which is why checkpoints leave the database.
public enum AuditChain {
    /// The previous hash of the first row.
    public static let genesis = String(repeating: "0", count: 64)

    /// One row as the chain covers it.
    public struct Entry: Sendable, Equatable {
        public let seq: Int64
        /// UTC, `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
        public let occurredAt: String
        public let action: String
        public let severity: String
        public let service: String
        public let actor: String?
        public let connection: String?
        public let project: String?
        /// jsonb's own text of the details.
        public let details: String
        public let correlationID: String?
        public let previousHash: String
        public let hash: String

        /// The canonical encoding the hash covers.
        public var canonical: String {
            [
                String(seq), occurredAt, action, severity, service, actor, connection, project, details, correlationID,
            ]
            .map { field in field.map { "\($0.utf8.count):\($0)" } ?? "-" }
            .joined(separator: "|")
        }

        /// What the row's hash should be, given the hash of the row before it.
        public func expectedHash(after previous: String) -> String {
            Hex.encode(Digest.sha256(Array((previous + "|" + canonical).utf8)))
        }
    }

    static let columns: SQL = """
        seq, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS occurred, action, severity,
        service, actor_user_id::text AS actor, connection_id::text AS connection, project_id::text AS project,
        details::text AS details, correlation_id, prev_hash, row_hash
        """

    static func entry(_ row: PostgresRow) throws -> Entry {
        Entry(
            seq: try row.decode("seq"), occurredAt: try row.decode("occurred"), action: try row.decode("action"),
            severity: try row.decode("severity"), service: try row.decode("service"), actor: row["actor"],
            connection: row["connection"], project: row["project"], details: try row.decode("details"),
            correlationID: row["correlation_id"], previousHash: try row.decode("prev_hash"),
            hash: try row.decode("row_hash"))
    }

    /// Where the chain stands.
    public enum Verdict: Sendable, Equatable {
        /// Every row fits; the head is the last one (seq 0 and the genesis hash for an empty log).
        case intact(rows: Int64, headSeq: Int64, headHash: String)
        /// The first row that does not fit, and why.
        case broken(seq: Int64, reason: String)
    }

    /// Checks rows in order: each must be the next place, link to the hash before it and carry the
    /// hash of its own content.
    public struct Walk {
        public private(set) var expectedSeq: Int64
        public private(set) var previousHash: String
        public private(set) var rows: Int64 = 0

        public init(afterSeq: Int64 = 0, hash: String = AuditChain.genesis) {
            expectedSeq = afterSeq + 1
            previousHash = hash
        }

        /// Nil when `entry` fits; else the reason it does not.
        public mutating func check(_ entry: Entry) -> Verdict? {
            if entry.seq != expectedSeq {
                return .broken(
                    seq: min(entry.seq, expectedSeq),
                    reason: entry.seq > expectedSeq
                        ? "row \(expectedSeq) is missing (the next row is \(entry.seq))"
                        : "row \(entry.seq) is out of order")
            }
            guard ConstantTime.equals(entry.previousHash, previousHash) else {
                return .broken(seq: entry.seq, reason: "row \(entry.seq) does not link to the row before it")
            }
            guard ConstantTime.equals(entry.expectedHash(after: previousHash), entry.hash) else {
                return .broken(seq: entry.seq, reason: "row \(entry.seq) was changed after it was written")
            }
            previousHash = entry.hash
            expectedSeq += 1
            rows += 1
            return nil
        }
    }

    /// Walks the whole chain from the database, in batches.
    public static func verify(_ database: PostgresConnection, batch: Int = 5000) throws -> Verdict {
        var walk = Walk()
        var after: Int64 = 0
        while true {
            let rows = try database.query(
                """
                SELECT \(fragment: columns) FROM vercel_security_audit_log
                WHERE seq > \(after) ORDER BY seq LIMIT \(batch)
                """)
            for row in rows {
                let entry = try entry(row)
                if let broken = walk.check(entry) { return broken }
                after = entry.seq
            }
            if rows.count < batch { break }
        }
        return .intact(rows: walk.rows, headSeq: walk.expectedSeq - 1, headHash: walk.previousHash)
    }

    /// The newest `limit` rows before `beforeSeq` (newest first), and whether each fits its
    /// predecessor: the audit route's page.
    public static func page(
        _ database: PostgresConnection, before beforeSeq: Int64?, limit: Int
    ) throws -> (entries: [Entry], verdict: Verdict?) {
        let rows = try database.query(
            """
            SELECT \(fragment: columns) FROM vercel_security_audit_log
            WHERE \(beforeSeq)::bigint IS NULL OR seq < \(beforeSeq)
            ORDER BY seq DESC LIMIT \(limit + 1)
            """)
        let entries = try rows.map(entry)
        // The oldest row fetched is the anchor: the page's rows are checked against it.
        guard let anchor = entries.last else { return ([], nil) }
        var walk =
            entries.count > limit
            ? Walk(afterSeq: anchor.seq, hash: anchor.hash) : Walk(afterSeq: 0, hash: AuditChain.genesis)
        let page = Array(entries.prefix(limit))
        for entry in page.reversed() {
            if let broken = walk.check(entry) { return (page, broken) }
        }
        return (page, nil)
    }

    /// The last row's place and hash.
    public static func head(_ database: PostgresConnection) throws -> (seq: Int64, hash: String) {
        guard
            let row = try database.query(
                "SELECT seq, row_hash FROM vercel_security_audit_log ORDER BY seq DESC LIMIT 1"
            ).first
        else { return (0, genesis) }
        return (try row.decode("seq"), try row.decode("row_hash"))
    }
}

/// A signed statement of the chain's head at a time, written to the log and sent as an alert, so a
/// tail deleted later is still found:
/// - `v2:<seq>:<hash>:<unix seconds>:<base64url Ed25519 signature>` (written now): signed with a key
///   derived from `SHEEN_AUDIT_CHECKPOINT_KEY`, verified with its public half alone
///   (`vercel-audit public-key` prints it; publish it), so an auditor needs no secret;
/// - `v1:<seq>:<hash>:<unix seconds>:<hex HMAC-SHA256>` (written before): verified with the key.
public struct AuditCheckpoint: Sendable, Equatable, CustomStringConvertible {
    public let seq: Int64
    public let hash: String
    public let time: Int64
    /// `v1` or `v2`.
    public let version: String
    /// The hex MAC (v1) or the base64url signature (v2).
    public let mac: String

    /// A v1 checkpoint, MAC'd with `key`.
    public init(seq: Int64, hash: String, time: Int64, key: [UInt8]) {
        self.seq = seq
        self.hash = hash
        self.time = time
        version = "v1"
        mac = Hex.encode(HMAC.sha256(key: key, message: Array(Self.message("v1", seq, hash, time).utf8)))
    }

    /// A v2 checkpoint, signed with `signer` (`signingKey(from:)`).
    public init(seq: Int64, hash: String, time: Int64, signer: Ed25519.PrivateKey) throws {
        self.seq = seq
        self.hash = hash
        self.time = time
        version = "v2"
        mac = Base64URL.encode(try signer.sign(Array(Self.message("v2", seq, hash, time).utf8)))
    }

    /// The Ed25519 key that signs v2 checkpoints, derived from the checkpoint secret (HMAC-SHA256 of
    /// a fixed label under it is the seed): nothing new to keep, and the same key on every host.
    public static func signingKey(from secret: [UInt8]) throws -> Ed25519.PrivateKey {
        try Ed25519.PrivateKey(
            seed: HMAC.sha256(key: secret, message: Array("sheen-vercel audit checkpoint ed25519 v1".utf8)))
    }

    public var description: String { "\(Self.message(version, seq, hash, time)):\(mac)" }

    static func message(_ version: String, _ seq: Int64, _ hash: String, _ time: Int64) -> String {
        "\(version):\(seq):\(hash):\(time)"
    }

    public enum Problem: Error, Equatable {
        case malformed
        case badSignature
        /// A v1 checkpoint without the secret, or a v2 one without the public key, to check it.
        case noKey(version: String)
    }

    /// Reads a checkpoint and checks its MAC (v1, with `key`) or signature (v2, with `publicKey`).
    public static func parse(
        _ text: String, key: [UInt8]? = nil, publicKey: Ed25519.PublicKey? = nil
    ) throws(Problem) -> AuditCheckpoint {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 5, ["v1", "v2"].contains(parts[0]), let seq = Int64(parts[1]), seq >= 0,
            parts[2].utf8.count == 64, let time = Int64(parts[3])
        else { throw .malformed }
        if parts[0] == "v1" {
            guard let key else { throw .noKey(version: "v1") }
            let expected = AuditCheckpoint(seq: seq, hash: parts[2], time: time, key: key)
            guard ConstantTime.equals(expected.mac, parts[4].lowercased()) else { throw .badSignature }
            return expected
        }
        guard let publicKey else { throw .noKey(version: "v2") }
        guard let signature = Base64URL.decode(parts[4]),
            publicKey.verifies(signature, of: Array(message("v2", seq, parts[2], time).utf8))
        else { throw .badSignature }
        return AuditCheckpoint(seq: seq, hash: parts[2], time: time, version: "v2", mac: parts[4])
    }

    private init(seq: Int64, hash: String, time: Int64, version: String, mac: String) {
        self.seq = seq
        self.hash = hash
        self.time = time
        self.version = version
        self.mac = mac
    }

    /// Whether the chain, as verified, still holds this checkpoint's head.
    public func isHeld(by database: PostgresConnection) throws -> Bool {
        guard seq > 0 else { return true }
        guard
            let row = try database.query("SELECT row_hash FROM vercel_security_audit_log WHERE seq = \(seq)").first
        else { return false }
        return ConstantTime.equals(try row.decode("row_hash", as: String.self), hash)
    }
}
