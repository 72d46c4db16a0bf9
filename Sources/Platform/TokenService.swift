#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import FastCGI
import Logging
import Postgres
import Vercel

/// Gives a usable access token for a connection, refreshing it first when it expires within
/// `refreshAhead`. Refresh tokens rotate, so two refreshes of one connection must never race: each
/// runs under the connection's advisory lock, and re-reads the connection once it holds the lock
/// (another process may have just refreshed it). Two failures in a row set the connection to
/// `error`, write the audit log and queue an alert for its user.
public struct TokenService {
    public static let refreshAhead: TimeInterval = 300

    let database: PostgresConnection
    let store: ConnectionStore
    let oauth: VercelOAuth
    let logger: Logger

    public init(database: PostgresConnection, store: ConnectionStore, oauth: VercelOAuth, logger: Logger) {
        self.database = database
        self.store = store
        self.oauth = oauth
        self.logger = logger
    }

    public struct Connection {
        public let id: UUID
        public let accessToken: String
        public let teamID: String?
        public let expiresAt: Date?
        public let scopes: [String]

        /// Throws 403 `INSUFFICIENT_SCOPE` unless the connection was granted `scope`.
        public func require(_ scope: String) throws {
            guard scopes.contains(scope) else { throw TokenService.insufficientScope(scope) }
        }
    }

    /// The answer when a connection lacks a scope: the frontend asks the user to reconnect.
    public static func insufficientScope(_ scope: String) -> HTTPError {
        HTTPError(
            403, code: "INSUFFICIENT_SCOPE", message: "Your Vercel connection does not allow this; reconnect to grant it",
            extraFields: ["requiredScope": .string(scope), "action": "RECONNECT"])
    }

    /// The connection's token, fresh for at least `refreshAhead` seconds when it can expire.
    /// - Throws: 401 `AUTH_REQUIRED` when the connection has no usable token.
    public func usable(_ id: UUID, ahead: TimeInterval = refreshAhead, correlationID: String) throws -> Connection {
        let current = try read(id)
        guard let expires = current.expiresAt, expires.timeIntervalSinceNow < ahead else { return current }
        return try refresh(id, unlessFreshFor: ahead, correlationID: correlationID)
    }

    /// Refreshes now (`unlessFreshFor` nil) or only if, once the lock is held, the token still
    /// expires within that many seconds.
    public func refresh(_ id: UUID, unlessFreshFor ahead: TimeInterval? = nil, correlationID: String) throws -> Connection {
        try database.withAdvisoryLock("sheen.vercel.refresh.\(id)") {
            let current = try read(id)
            if let ahead, let expires = current.expiresAt, expires.timeIntervalSinceNow >= ahead { return current }
            guard let refreshToken = try store.tokens(of: id)?.refresh else {
                throw HTTPError(400, code: "REFRESH_NOT_SUPPORTED", message: "This connection's token does not expire and cannot be refreshed")
            }
            do {
                let pair = try oauth.refresh(refreshToken)
                try store.replaceTokens(
                    id, access: pair.accessToken, refresh: pair.refreshToken ?? refreshToken,
                    expiresAt: pair.expiresIn.map { Date().addingTimeInterval(Double($0)) }, correlationID: correlationID)
                logger.info("vercel token refreshed", metadata: ["connection.id": "\(id)"])
                return try read(id)
            } catch let error as VercelError {
                try recordFailure(id, error, correlationID: correlationID)
                throw error
            }
        }
    }

    private func recordFailure(_ id: UUID, _ error: VercelError, correlationID: String) throws {
        let failures: Int = try database.query(
            """
            UPDATE vercel_connections SET refresh_failures = refresh_failures + 1, updated_at = now(),
              status = CASE WHEN refresh_failures + 1 >= 2 THEN 'error'::vercel_connection_status ELSE status END,
              error_message = CASE WHEN refresh_failures + 1 >= 2 THEN 'token refresh failed twice' ELSE error_message END
            WHERE id = \(id) RETURNING refresh_failures, user_id
            """)[0].decode("refresh_failures")
        logger.warning("vercel token refresh failed", metadata: ["connection.id": "\(id)", "vercel.error": "\(error.code)", "refresh.failures": "\(failures)"])
        guard failures == 2 else { return }
        try SecurityAudit.record(
            "VERCEL_REFRESH_FAILED", severity: "HIGH", connectionID: id.uuidString.lowercased(),
            details: #"{"failures":2,"vercelError":"\#(error.code)"}"#, correlationID: correlationID, database: database)
        try database.execute(
            """
            INSERT INTO vercel_jobs (kind, payload, dedup_key, correlation_id)
            SELECT 'alert.user.vercel_reconnect', jsonb_build_object('connectionId', id, 'userId', user_id), id::text, \(correlationID)
            FROM vercel_connections WHERE id = \(id)
            ON CONFLICT DO NOTHING
            """)
    }

    private func read(_ id: UUID) throws -> Connection {
        guard let row = try database.query(
            "SELECT status::text AS status, token_expires_at, array_to_json(granted_scopes)::text AS scopes FROM vercel_connections WHERE id = \(id)"
        ).first, row["status"] == "connected" || row["status"] == "error", let tokens = try store.tokens(of: id) else {
            throw HTTPError(401, code: "AUTH_REQUIRED", message: "Connect your Vercel account", extraFields: ["action": "RECONNECT"])
        }
        let scopes = (try? JSONDecoder().decode([String].self, from: Data((row["scopes"] ?? "[]").utf8))) ?? []
        return Connection(id: id, accessToken: tokens.access, teamID: tokens.teamID, expiresAt: try row.decodeIfPresent("token_expires_at"), scopes: scopes)
    }
}
