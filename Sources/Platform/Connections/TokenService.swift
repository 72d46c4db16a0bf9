import Kernel
import Logging
import Postgres
import Vercel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

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

    /// The usable connection of `userID` (`connectionID`, or their newest), fresh for at least
    /// `refreshAhead` seconds when its token can expire.
    /// - Throws: `ConnectionError.notConnected` when the user has no usable connection.
    public func usable(userID: UUID, connectionID: UUID?) throws -> ConnectionStore.Credential {
        let current = try store.credential(userID: userID, connectionID: connectionID)
        guard let expires = current.expiresAt, expires.timeIntervalSinceNow < Self.refreshAhead else { return current }
        return try refresh(current.id, unlessFreshFor: Self.refreshAhead)
    }

    /// Refreshes now (`unlessFreshFor` nil) or only if, once the lock is held, the token still
    /// expires within that many seconds.
    public func refresh(
        _ id: UUID, unlessFreshFor ahead: TimeInterval? = nil
    ) throws
        -> ConnectionStore.Credential
    {
        try database.withAdvisoryLock("sheen.vercel.refresh.\(id)") {
            let current = try store.credential(id)
            if let ahead, let expires = current.expiresAt, expires.timeIntervalSinceNow >= ahead { return current }
            guard let refreshToken = current.refreshToken else { throw ConnectionError.refreshNotSupported }
            do {
                let pair = try oauth.refresh(refreshToken)
                try store.replaceTokens(
                    id, access: pair.accessToken, refresh: pair.refreshToken ?? refreshToken,
                    expiresAt: pair.expiresIn.map { Date().addingTimeInterval(Double($0)) })
                logger.info("vercel token refreshed", metadata: ["connection.id": "\(id)"])
                Metrics.shared.increment(.tokenRefreshes, ["refreshed"])
                return try store.credential(id)
            } catch let error as VercelError {
                Metrics.shared.increment(.tokenRefreshes, ["failed"])
                try recordFailure(id, error)
                throw error
            }
        }
    }

    private struct ConnectionAlert: Encodable {
        let connectionId: String
        let failures: Int
        let vercelError: String
    }

    private struct RefreshFailure: Encodable {
        let failures: Int
        let vercelError: String
    }

    private func recordFailure(_ id: UUID, _ error: VercelError) throws {
        let row = try database.query(
            """
            UPDATE vercel_connections SET refresh_failures = refresh_failures + 1, updated_at = now(),
              status = CASE WHEN refresh_failures + 1 >= 2 THEN 'error'::vercel_connection_status ELSE status END,
              error_message = CASE WHEN refresh_failures + 1 >= 2 THEN 'token refresh failed twice' ELSE error_message END
            WHERE id = \(id) RETURNING refresh_failures, user_id
            """)[0]
        let failures: Int = try row.decode("refresh_failures")
        let userID: UUID = try row.decode("user_id")
        logger.warning(
            "vercel token refresh failed",
            metadata: [
                "connection.id": "\(id)", "vercel.error": "\(error.code)",
                "refresh.failures": .stringConvertible(failures),
            ])
        let outbox = AlertOutbox(database: database)
        let alert = ConnectionAlert(
            connectionId: id.uuidString.lowercased(), failures: failures, vercelError: error.code)
        guard failures >= 2 else {
            try outbox.enqueue(
                "connection.refresh_failed", severity: .warning, userID: userID, data: alert,
                dedupKey: "refresh_failed:\(id.uuidString.lowercased())")
            return
        }
        guard failures == 2 else { return }
        try SecurityAudit(database: database).record(
            .vercelRefreshFailed, severity: .high, connection: id,
            details: RefreshFailure(failures: 2, vercelError: error.code))
        try outbox.enqueue(
            "connection.reconnect_required", severity: .critical, userID: userID, data: alert,
            dedupKey: "reconnect:\(id.uuidString.lowercased())")
    }
}
