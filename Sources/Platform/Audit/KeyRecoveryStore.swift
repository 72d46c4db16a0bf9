import Crypto
import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What a key recovery reads and gathers: the escrow record of a split key (`vercel_key_escrow`)
/// and the shares admins hand in (`vercel_key_recovery_shares`), each sealed under the ring's
/// current key until the recovery ends.
public struct KeyRecoveryStore {
    let database: PostgresConnection
    let keyRing: KeyRing

    public init(database: PostgresConnection, keyRing: KeyRing) {
        self.database = database
        self.keyRing = keyRing
    }

    /// Runs `body` in one transaction: a share's signature is checked, and its nonce spent, with
    /// the share's keeping, or neither happens.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try database.transaction(body)
    }

    /// Runs `body` as the one combination of `request`'s shares on every host; nil, without
    /// running it, while another runs.
    public func combining<T>(request: UUID, _ body: () throws -> T) throws -> T? {
        try database.withAdvisoryLockIfFree("sheen.vercel.key-recovery.\(request.uuidString.lowercased())", body)
    }

    /// Re-seals every value sealed under `keyID` with `opener` (which holds the recovered key)
    /// under `sealer`'s current key, a batch per transaction.
    public func reseal(_ keyID: String, opener: KeyRing, sealer: KeyRing) throws -> Rekeyer.Tally {
        try Rekeyer(database: database, opener: opener, sealer: sealer).run(onlyKeyID: keyID)
    }

    public struct Escrow: Sendable {
        public let keyID: String
        public let checkValue: String
        public let threshold: Int
        public let shares: Int
    }

    /// The escrow record of `keyID`, or without one the newest.
    public func escrow(keyID: String?) throws -> Escrow? {
        try database.query(
            """
            SELECT key_id, check_value, threshold, shares FROM vercel_key_escrow
            WHERE \(keyID)::text IS NULL OR key_id = \(keyID) ORDER BY created_at DESC LIMIT 1
            """
        ).first.map {
            Escrow(
                keyID: try $0.decode("key_id"), checkValue: try $0.decode("check_value"),
                threshold: try $0.decode("threshold"), shares: try $0.decode("shares"))
        }
    }

    static func context(_ request: UUID, _ x: UInt8) -> SealContext {
        SealContext(
            table: "vercel_key_recovery_shares", column: "share_sealed",
            rowID: "\(request.uuidString.lowercased()):\(x)")
    }

    /// Keeps `share` from `admin` for the recovery of `request`; false when this admin already gave
    /// one, or a share with this x was already given (the duplicate is ignored).
    public func submit(_ share: Shamir.Share, request: UUID, admin: UUID, keyID: String) throws -> Bool {
        let sealed = try keyRing.seal(share.text, context: Self.context(request, share.x))
        return try database.execute(
            """
            INSERT INTO vercel_key_recovery_shares (request_id, admin_id, key_id, x, share_sealed)
            VALUES (\(request), \(admin), \(keyID), \(Int(share.x)), \(sealed))
            ON CONFLICT DO NOTHING
            """) == 1
    }

    /// The shares gathered for `request`, opened.
    public func shares(request: UUID, keyID: String) throws -> [Shamir.Share] {
        try database.query(
            """
            SELECT x, share_sealed FROM vercel_key_recovery_shares
            WHERE request_id = \(request) AND key_id = \(keyID) ORDER BY created_at
            """
        ).compactMap { row in
            let x = UInt8(try row.decode("x", as: Int.self))
            return Shamir.Share(
                text: try keyRing.open(try row.decode("share_sealed"), context: Self.context(request, x)))
        }
    }

    public func count(request: UUID, keyID: String) throws -> Int {
        try database.query(
            "SELECT count(*) AS n FROM vercel_key_recovery_shares WHERE request_id = \(request) AND key_id = \(keyID)"
        )[0].decode("n")
    }

    /// Forgets every share given for `request`.
    public func discard(request: UUID) throws {
        try database.execute("DELETE FROM vercel_key_recovery_shares WHERE request_id = \(request)")
    }
}
