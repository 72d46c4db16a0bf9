import Crypto
import Platform
import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// An admin with an enrolled Ed25519 key, as the tests act for one: the user row, the key written
/// to `vercel_admin_keys` as `vercel-admin enrol-first` writes it, and the signatures it makes over
/// a break-glass request as an answer shows it.
public struct SigningAdmin: Sendable {
    public let id: UUID
    public let key: Ed25519.PrivateKey

    public init(id: UUID, key: Ed25519.PrivateKey) {
        self.id = id
        self.key = key
    }

    /// A new admin user with a new key, enrolled directly (never through the quorum).
    public static func enrolled(in database: PostgresConnection) throws -> SigningAdmin {
        let id: UUID = try database.query(
            "INSERT INTO users (email, role) VALUES (\(UUID().uuidString + "@example.com"), 'admin') RETURNING id")[0]
            .decode("id")
        let admin = SigningAdmin(id: id, key: try .generate())
        try admin.enrol(in: database)
        return admin
    }

    public func enrol(in database: PostgresConnection) throws {
        try database.execute(
            """
            INSERT INTO vercel_admin_keys (fingerprint, admin_id, public_key, enrolled_by)
            VALUES (\(key.publicKey.fingerprint), \(id), \(key.publicKey.text), 'host')
            """)
    }

    /// `adminSignature` for `action` on `request` (an answer's `request` object), signed now with a
    /// fresh nonce; `key` signs instead of the admin's own when given.
    public func signature(
        _ action: AdminStatement.Action, on request: [String: Any], subject: String = "-",
        with other: Ed25519.PrivateKey? = nil, timestamp: Int64 = Int64(Date().timeIntervalSince1970)
    ) throws -> [String: Any] {
        let statement = AdminStatement(
            request: try Self.field(request, "id").flatMap(UUID.init(uuidString:)).unwrap("id"),
            action: action, level: try Self.field(request, "accessLevel").unwrap("accessLevel"),
            digest: try Self.field(request, "digest").unwrap("digest"), subject: subject,
            nonce: try AdminStatement.nonce(), timestamp: timestamp)
        let signed = try AdminSignature.sign(statement, with: other ?? key)
        return [
            "keyFingerprint": signed.keyFingerprint, "nonce": signed.nonce, "timestamp": signed.timestamp,
            "value": signed.value,
        ]
    }

    static func field(_ object: [String: Any], _ name: String) throws -> String? { object[name] as? String }

    public struct MissingField: Error, CustomStringConvertible {
        public let name: String
        public var description: String { "the request has no \(name)" }
    }
}

extension Optional {
    fileprivate func unwrap(_ name: String) throws -> Wrapped {
        guard let self else { throw SigningAdmin.MissingField(name: name) }
        return self
    }
}
