import Crypto
import Kernel
import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The admins' Ed25519 keys (`vercel_admin_keys`) and the nonces of the statements signed with them
/// (`vercel_admin_signature_nonces`). A decision counts only with a signature, by the deciding
/// admin's own active key, over the statement the service rebuilds, made in the last five minutes
/// and never seen before. Private keys never reach the service: it holds public keys only.
public struct AdminKeyStore {
    let database: PostgresConnection

    public init(database: PostgresConnection) {
        self.database = database
    }

    public struct Key: Encodable, Sendable, Equatable {
        public let fingerprint: String
        public let adminId: UUID
        public let publicKey: String
        public let status: String
        public let enrolledBy: String
        public let requestId: UUID?
        public let approvedBy: [UUID]
        public let enrolledAt: Date
        public let revokedAt: Date?

        public func encode(to encoder: any Encoder) throws {
            enum Keys: String, CodingKey {
                case fingerprint, adminId, publicKey, status, enrolledBy, requestId, approvedBy, enrolledAt, revokedAt
            }
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(fingerprint, forKey: .fingerprint)
            try container.encode(adminId.uuidString.lowercased(), forKey: .adminId)
            try container.encode(publicKey, forKey: .publicKey)
            try container.encode(status, forKey: .status)
            try container.encode(enrolledBy, forKey: .enrolledBy)
            try container.encode(requestId?.uuidString.lowercased(), forKey: .requestId)
            try container.encode(approvedBy.map { $0.uuidString.lowercased() }, forKey: .approvedBy)
            try container.encode(ISO8601.format(enrolledAt), forKey: .enrolledAt)
            try container.encode(revokedAt.map { ISO8601.format($0) }, forKey: .revokedAt)
        }
    }

    /// Why a signed statement does not count, as the answer's code names it.
    public enum Refusal: String, Error, Equatable, Sendable {
        case required = "SIGNATURE_REQUIRED"
        case malformed = "SIGNATURE_MALFORMED"
        case stale = "SIGNATURE_STALE"
        case unknownKey = "SIGNATURE_KEY_UNKNOWN"
        case notYourKey = "SIGNATURE_KEY_NOT_YOURS"
        case revoked = "SIGNATURE_KEY_REVOKED"
        case invalid = "SIGNATURE_INVALID"
        case replayed = "SIGNATURE_REPLAYED"

        public var message: String {
            switch self {
            case .required:
                "This decision needs adminSignature: a signature with your enrolled admin key (vercel-admin signs it)"
            case .malformed:
                "adminSignature must hold keyFingerprint, a nonce of 16 to 64 base64url characters, timestamp and value"
            case .stale: "The signed statement's timestamp is more than five minutes from the service's clock"
            case .unknownKey: "No admin key is enrolled with this fingerprint"
            case .notYourKey: "This key is enrolled for another admin: sign with your own key"
            case .revoked: "This key was revoked: sign with your active key"
            case .invalid: "The signature does not verify for this request, action and key"
            case .replayed: "This signed statement was already used: sign the decision again"
            }
        }
    }

    private static let columns: SQL = """
        fingerprint, admin_id, public_key, status, enrolled_by, request_id,
        array_to_json(approved_by)::text AS approved_by, enrolled_at, revoked_at
        """

    private static func key(_ row: PostgresRow) throws -> Key {
        Key(
            fingerprint: try row.decode("fingerprint"), adminId: try row.decode("admin_id"),
            publicKey: try row.decode("public_key"), status: try row.decode("status"),
            enrolledBy: try row.decode("enrolled_by"), requestId: try row.decodeIfPresent("request_id"),
            approvedBy: try JSONDecoder().decode(
                [UUID].self, from: Data(try row.decode("approved_by", as: String.self).utf8)),
            enrolledAt: try row.decode("enrolled_at"), revokedAt: try row.decodeIfPresent("revoked_at"))
    }

    /// Every key, active first, newest first.
    public func list(limit: Int = 500) throws -> [Key] {
        try database.query(
            """
            SELECT \(fragment: Self.columns) FROM vercel_admin_keys
            ORDER BY status = 'active' DESC, enrolled_at DESC LIMIT \(limit)
            """
        ).map(Self.key)
    }

    public func find(_ fingerprint: String) throws -> Key? {
        try database.query(
            "SELECT \(fragment: Self.columns) FROM vercel_admin_keys WHERE fingerprint = \(fingerprint)"
        ).first.map(Self.key)
    }

    /// `admin`'s active key.
    public func active(of admin: UUID) throws -> Key? {
        try database.query(
            "SELECT \(fragment: Self.columns) FROM vercel_admin_keys WHERE admin_id = \(admin) AND status = 'active'"
        ).first.map(Self.key)
    }

    /// How many admins hold an active key, leaving out `excluded`.
    public func activeHolders(excluding excluded: [UUID]) throws -> Int {
        try database.query(
            """
            SELECT count(*) AS n FROM vercel_admin_keys k JOIN users u ON u.id = k.admin_id
            WHERE k.status = 'active' AND u.role = 'admin'
              AND NOT (k.admin_id = ANY(\(excluded.map { $0.uuidString.lowercased() })::uuid[]))
            """
        )[0].decode("n")
    }

    /// Checks `signature` as `admin`'s over the statement `statement` builds from its nonce and
    /// time, and spends its nonce; the fingerprint of the key that signed. Call it inside the
    /// transaction that records the decision, so a refused decision spends nothing.
    public func accept(
        _ signature: AdminSignature?, by admin: UUID, now: Date = Date(),
        statement: (_ nonce: String, _ timestamp: Int64) -> AdminStatement
    ) throws -> String {
        guard let signature else { throw Refusal.required }
        guard AdminStatement.isValidNonce(signature.nonce), signature.keyFingerprint.utf8.count <= 64,
            let value = Base64URL.decode(signature.value), value.count == Ed25519.signatureLength
        else { throw Refusal.malformed }
        guard abs(Int64(now.timeIntervalSince1970) - signature.timestamp) <= AdminStatement.allowedSkewSeconds else {
            throw Refusal.stale
        }
        guard
            let row = try database.query(
                """
                SELECT admin_id, public_key, status FROM vercel_admin_keys
                WHERE fingerprint = \(signature.keyFingerprint) FOR SHARE
                """
            ).first
        else { throw Refusal.unknownKey }
        guard try row.decode("admin_id", as: UUID.self) == admin else { throw Refusal.notYourKey }
        guard try row.decode("status", as: String.self) == "active" else { throw Refusal.revoked }
        guard let key = Ed25519.PublicKey(text: try row.decode("public_key")),
            key.verifies(value, of: statement(signature.nonce, signature.timestamp).bytes)
        else { throw Refusal.invalid }
        let spent = try database.execute(
            """
            INSERT INTO vercel_admin_signature_nonces (nonce, fingerprint) VALUES (\(signature.nonce), \(signature.keyFingerprint))
            ON CONFLICT DO NOTHING
            """)
        guard spent == 1 else { throw Refusal.replayed }
        return signature.keyFingerprint
    }

    public enum EnrolRefusal: Error, Equatable {
        case notAnAdmin
        case keysEnrolled
        case keyInUse
    }

    /// The first key, enrolled by someone with the database on the host: refused while any admin
    /// holds an active key (then the quorum enrols, with an ADMIN_KEY request).
    public func enrolFirst(admin: UUID, key: Ed25519.PublicKey, recording record: (Key) throws -> Void) throws -> Key {
        try database.transaction {
            try database.execute("LOCK TABLE vercel_admin_keys IN EXCLUSIVE MODE")
            guard try !database.query("SELECT 1 FROM users WHERE id = \(admin) AND role = 'admin'").isEmpty else {
                throw EnrolRefusal.notAnAdmin
            }
            guard try database.query("SELECT 1 FROM vercel_admin_keys WHERE status = 'active'").isEmpty else {
                throw EnrolRefusal.keysEnrolled
            }
            guard try database.query("SELECT 1 FROM vercel_admin_keys WHERE fingerprint = \(key.fingerprint)").isEmpty
            else { throw EnrolRefusal.keyInUse }
            try database.execute(
                """
                INSERT INTO vercel_admin_keys (fingerprint, admin_id, public_key, enrolled_by)
                VALUES (\(key.fingerprint), \(admin), \(key.text), 'host')
                """)
            let enrolled = try find(key.fingerprint)!
            try record(enrolled)
            return enrolled
        }
    }

    /// Applies an approved ADMIN_KEY request's change, inside the transaction of its last approval.
    func apply(_ change: BreakglassStore.KeyChange, request: UUID, approvers: [UUID]) throws {
        let ids = approvers.map { $0.uuidString.lowercased() }
        switch change.action {
        case .revoke:
            try database.execute(
                """
                UPDATE vercel_admin_keys SET status = 'revoked', revoked_at = now(), revoked_by_request = \(request)
                WHERE fingerprint = \(change.fingerprint) AND status = 'active'
                """)
        case .enrol, .rotate:
            try database.execute(
                """
                UPDATE vercel_admin_keys SET status = 'revoked', revoked_at = now(), revoked_by_request = \(request)
                WHERE admin_id = \(change.adminId) AND status = 'active'
                """)
            do {
                try database.execute(
                    """
                    INSERT INTO vercel_admin_keys (fingerprint, admin_id, public_key, enrolled_by, request_id, approved_by)
                    VALUES (\(change.fingerprint), \(change.adminId), \(change.publicKey), 'quorum', \(request), \(ids)::uuid[])
                    """)
            } catch let error as PostgresError where error.isUniqueViolation {
                // The key was enrolled another way while the request waited: the approval changes nothing.
                throw BreakglassStore.Refusal.keyInUse
            }
        }
    }

    /// Forgets nonces older than an hour (statements older than five minutes are refused anyway).
    public func pruneNonces() throws -> Int {
        try database.execute("DELETE FROM vercel_admin_signature_nonces WHERE used_at < now() - interval '1 hour'")
    }
}
