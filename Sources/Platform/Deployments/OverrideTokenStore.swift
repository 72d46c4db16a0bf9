import Crypto
import Kernel
import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Tokens that let production take what the guardrails block. Only a token's SHA-256 is stored,
/// with its reason, expiry and number of uses; each use is taken in one conditional statement.
public struct OverrideTokenStore {
    let database: PostgresConnection

    public init(database: PostgresConnection) {
        self.database = database
    }

    /// A token just issued: the only time it is seen.
    public struct Issued: Sendable {
        public let token: String
        public let id: UUID
        public let expiresAt: Date
    }

    public func issue(
        project: UUID, reason: String, createdBy: UUID, minutes: Int, maxUses: Int
    ) throws -> Issued {
        let token = "ovr_" + (try SecureRandom.token(byteCount: 32))
        let row = try database.query(
            """
            INSERT INTO vercel_override_tokens (project_id, token_hash, reason, created_by, expires_at, max_uses, correlation_id)
            VALUES (\(project), \(Digest.sha256Hex(token)), \(reason), \(createdBy), now() + make_interval(mins => \(minutes)),
              \(maxUses), \(Trace.requestID))
            RETURNING id, expires_at
            """)[0]
        return Issued(token: token, id: try row.decode("id"), expiresAt: try row.decode("expires_at"))
    }

    /// One use taken of a token.
    public struct Use: Sendable {
        public let id: UUID
        public let use: Int
        public let maxUses: Int
    }

    /// Takes one use of `token` for `project`; nil when it is unknown, of another project, expired
    /// or used up.
    public func takeUse(of token: String, project: UUID) throws -> Use? {
        guard token.utf8.count <= 200 else { return nil }
        guard
            let row = try database.query(
                """
                UPDATE vercel_override_tokens SET uses = uses + 1
                WHERE token_hash = \(Digest.sha256Hex(token)) AND project_id = \(project) AND expires_at > now() AND uses < max_uses
                RETURNING id, uses, max_uses
                """
            ).first
        else { return nil }
        return Use(id: try row.decode("id"), use: try row.decode("uses"), maxUses: try row.decode("max_uses"))
    }

    /// Gives a use back when the action it was taken for did not happen.
    public func refund(_ use: Use) {
        _ = try? database.execute("UPDATE vercel_override_tokens SET uses = uses - 1 WHERE id = \(use.id) AND uses > 0")
    }
}
