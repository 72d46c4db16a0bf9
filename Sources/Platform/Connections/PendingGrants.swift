import Crypto
import Kernel
import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Grants back from Vercel that wait for the platform to confirm them for the signed-in user. The
/// confirmation token goes to the browser that completed the authorization, and only its SHA-256
/// is kept; the grant, tokens included, is sealed for its row. A token is spent by its first use.
public struct PendingGrants {
    public static let lifetimeSeconds = 600

    let database: PostgresConnection
    let keyRing: KeyRing

    public init(database: PostgresConnection, keyRing: KeyRing) {
        self.database = database
        self.keyRing = keyRing
    }

    static func context(_ tokenHash: String) -> SealContext {
        SealContext(table: "vercel_oauth_confirmations", column: "grant_sealed", rowID: tokenHash)
    }

    /// Keeps `grant` until it is confirmed; the confirmation token.
    public func hold(_ grant: ConnectionStore.Grant) throws -> String {
        let token = try SecureRandom.token(byteCount: 32)
        let hash = Digest.sha256Hex(token)
        let sealed = try keyRing.seal(
            String(decoding: try JSONEncoder().encode(grant), as: UTF8.self), context: Self.context(hash))
        try database.execute(
            """
            INSERT INTO vercel_oauth_confirmations (token_hash, user_id, grant_sealed, correlation_id, expires_at)
            VALUES (\(hash), \(grant.userID), \(sealed), \(Trace.requestID), now() + make_interval(secs => \(Self.lifetimeSeconds)))
            """)
        return token
    }

    /// Spends `token`: the grant it holds, nil when it is unknown, spent or expired.
    public func take(_ token: String) throws -> ConnectionStore.Grant? {
        guard (16...256).contains(token.utf8.count) else { return nil }
        let hash = Digest.sha256Hex(token)
        guard
            let row = try database.query(
                "DELETE FROM vercel_oauth_confirmations WHERE token_hash = \(hash) AND expires_at > now() RETURNING grant_sealed"
            ).first
        else { return nil }
        let json = try keyRing.open(try row.decode("grant_sealed"), context: Self.context(hash))
        return try JSONDecoder().decode(ConnectionStore.Grant.self, from: Data(json.utf8))
    }

    /// Forgets grants nobody confirmed in time; how many.
    public static func pruneExpired(_ database: PostgresConnection) throws -> Int {
        try database.execute("DELETE FROM vercel_oauth_confirmations WHERE expires_at <= now()")
    }
}
