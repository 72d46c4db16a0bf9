import Platform
import Postgres

/// Remembers the nonces of accepted platform requests in Postgres, so every process and every host
/// refuses a replay within `PlatformSignature.nonceLifetimeSeconds`.
enum NonceStore {
    /// Records `key`; false when it was already recorded within the nonce lifetime. A key older than
    /// that is taken over, since its timestamp could no longer pass the skew check anyway.
    static func firstUse(of key: String, database: PostgresConnection) throws -> Bool {
        let lifetime = PlatformSignature.nonceLifetimeSeconds
        let rows = try database.query(
            """
            INSERT INTO vercel_request_nonces (nonce, seen_at) VALUES (\(key), now())
            ON CONFLICT (nonce) DO UPDATE SET seen_at = EXCLUDED.seen_at
              WHERE vercel_request_nonces.seen_at < now() - make_interval(secs => \(lifetime))
            RETURNING nonce
            """)
        return !rows.isEmpty
    }
}
