import Crypto
import Kernel
import Postgres
import Vercel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Vercel connections as rows of `vercel_connections`, with their tokens sealed for their own row
/// and column. The only code that writes or opens tokens.
public struct ConnectionStore {
    let database: PostgresConnection
    let keyRing: KeyRing

    public init(database: PostgresConnection, keyRing: KeyRing) {
        self.database = database
        self.keyRing = keyRing
    }

    /// What a successful authorization gives. Codable only to be sealed whole while it waits for
    /// confirmation (`PendingGrants`).
    public struct Grant: Codable {
        public var userID: UUID
        public var teamID: String?
        public var teamName: String?
        public var vercelUserID: String
        public var email: String?
        public var mode: String
        public var configurationID: String?
        public var installationID: String?
        public var accessToken: String
        public var refreshToken: String?
        public var expiresAt: Date?
        /// What Vercel granted, nil when Vercel did not say (an integration installation).
        public var scopes: [String]?

        public init(
            userID: UUID, teamID: String?, teamName: String?, vercelUserID: String, email: String?, mode: String,
            configurationID: String?,
            installationID: String?, accessToken: String, refreshToken: String?, expiresAt: Date?, scopes: [String]?
        ) {
            self.userID = userID
            self.teamID = teamID
            self.teamName = teamName
            self.vercelUserID = vercelUserID
            self.email = email
            self.mode = mode
            self.configurationID = configurationID
            self.installationID = installationID
            self.accessToken = accessToken
            self.refreshToken = refreshToken
            self.expiresAt = expiresAt
            self.scopes = scopes
        }
    }

    static func context(_ column: String, _ id: UUID) -> SealContext {
        SealContext(table: "vercel_connections", column: column, rowID: id.uuidString.lowercased())
    }

    /// Stores `grant` as the user's connection for its team (or the personal one): a new row, or the
    /// existing one updated and reconnected. Serialized per (user, team), so the row id that the
    /// tokens are sealed for is the row they land in.
    public func save(_ grant: Grant) throws -> UUID {
        try database.transaction {
            try database.lockForTransaction("sheen.vercel.connection.\(grant.userID).\(grant.teamID ?? "personal")")
            let existing: UUID? = try database.query(
                "SELECT id FROM vercel_connections WHERE user_id = \(grant.userID) AND team_id IS NOT DISTINCT FROM \(grant.teamID)::text"
            ).first?.decode("id")
            let id = existing ?? UUID()
            let access = try keyRing.seal(grant.accessToken, context: Self.context("access_token_sealed", id))
            let refresh = try grant.refreshToken.map {
                try keyRing.seal($0, context: Self.context("refresh_token_sealed", id))
            }
            if existing != nil {
                try database.execute(
                    """
                    UPDATE vercel_connections SET team_name = \(grant.teamName), vercel_user_id = \(grant.vercelUserID),
                      user_email = \(grant.email), auth_mode = \(grant.mode), configuration_id = \(grant.configurationID),
                      installation_id = \(grant.installationID), access_token_sealed = \(access), refresh_token_sealed = \(refresh),
                      token_key_id = \(keyRing.currentKeyID), token_expires_at = \(grant.expiresAt), granted_scopes = \(grant.scopes),
                      status = 'connected', error_message = NULL, refresh_failures = 0,
                      circuit_breaker_state = '{"consecutive_failures": 0, "is_open": false}', correlation_id = \(Trace.requestID),
                      updated_at = now(), last_sync_at = now()
                    WHERE id = \(id)
                    """)
            } else {
                try database.execute(
                    """
                    INSERT INTO vercel_connections (id, user_id, team_id, team_name, account_type, vercel_user_id, user_email, auth_mode,
                      configuration_id, installation_id, access_token_sealed, refresh_token_sealed, token_key_id, token_expires_at,
                      granted_scopes, status, correlation_id, last_sync_at)
                    VALUES (\(id), \(grant.userID), \(grant.teamID), \(grant.teamName), \(grant.teamID == nil ? "personal" : "team"),
                      \(grant.vercelUserID), \(grant.email), \(grant.mode), \(grant.configurationID), \(grant.installationID), \(access),
                      \(refresh), \(keyRing.currentKeyID), \(grant.expiresAt), \(grant.scopes), 'connected', \(Trace.requestID), now())
                    """)
            }
            return id
        }
    }

    /// A connection's tokens, opened, with what a call needs beside them.
    public struct Credential {
        public let id: UUID
        public let accessToken: String
        public let refreshToken: String?
        public let teamID: String?
        public let expiresAt: Date?
        /// In Vercel's words (`read-write:project`); nil when Vercel did not say: a call then learns
        /// from Vercel's 403.
        public let scopes: [String]?
        /// The breaker as stored with the tokens, so a call that changes nothing reads it no more.
        public let breaker: CircuitBreakers.Snapshot
        /// `integration` or `oauth_app`.
        public let mode: String
        /// The integration configuration the connection came from (integration mode).
        public let configurationID: String?

        /// The permissions the connection is known to hold; nil when unknown (nothing stored, or
        /// only words that are not Vercel permissions, such as OpenID scopes).
        public var permissions: [VercelPermission]? { VercelPermission.known(scopes) }

        /// Throws 403 `INSUFFICIENT_SCOPE` when the connection is known not to hold `scope`.
        public func require(_ scope: VercelPermission) throws {
            guard let permissions, !scope.isGranted(by: permissions) else { return }
            throw PlatformError.insufficientScope(scope.description)
        }
    }

    /// The usable connection of `userID`, in one statement: `connectionID` when given (and theirs),
    /// else their newest connected one.
    /// - Throws: `ConnectionError.notConnected` when there is none, or it holds no token.
    public func credential(userID: UUID, connectionID: UUID?) throws -> Credential {
        try credential(
            database.query(
                """
                SELECT \(fragment: Self.credentialColumns) FROM vercel_connections
                WHERE user_id = \(userID) AND (id = \(connectionID) OR (\(connectionID)::uuid IS NULL AND status = 'connected'))
                ORDER BY updated_at DESC LIMIT 1
                """
            ).first)
    }

    /// The connection `id`, whoever holds it (jobs and the refresh path).
    /// - Throws: `ConnectionError.notConnected` when it holds no usable token.
    public func credential(_ id: UUID) throws -> Credential {
        try credential(
            database.query("SELECT \(fragment: Self.credentialColumns) FROM vercel_connections WHERE id = \(id)").first)
    }

    /// The connection `connectionID` of `userID` (or their newest connected one), nil when there is none.
    public func find(userID: UUID, connectionID: UUID?) throws -> UUID? {
        try database.query(
            """
            SELECT id FROM vercel_connections
            WHERE user_id = \(userID) AND (id = \(connectionID) OR (\(connectionID)::uuid IS NULL AND status = 'connected'))
            ORDER BY updated_at DESC LIMIT 1
            """
        ).first?.decode("id")
    }

    private static let credentialColumns: SQL = """
        id, status::text AS status, token_expires_at, array_to_json(granted_scopes)::text AS scopes, access_token_sealed,
        refresh_token_sealed, team_id, circuit_breaker_state::text AS breaker, auth_mode, configuration_id
        """

    private func credential(_ row: PostgresRow?) throws -> Credential {
        guard let row, row["status"] == "connected" || row["status"] == "error", let access = row["access_token_sealed"]
        else {
            throw ConnectionError.notConnected
        }
        let id: UUID = try row.decode("id")
        return Credential(
            id: id, accessToken: try keyRing.open(access, context: Self.context("access_token_sealed", id)),
            refreshToken: try row["refresh_token_sealed"].map {
                try keyRing.open($0, context: Self.context("refresh_token_sealed", id))
            },
            teamID: row["team_id"], expiresAt: try row.decodeIfPresent("token_expires_at"),
            scopes: row["scopes"].flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) },
            breaker: PostgresCircuitBreakerStorage.snapshot(row["breaker"]), mode: try row.decode("auth_mode"),
            configurationID: row["configuration_id"])
    }

    /// A connection as its owner sees it: never a token, only its expiry.
    public struct Summary: Encodable, Sendable {
        public let id: UUID
        public let teamId: String?
        public let teamName: String?
        public let accountType: String
        /// Nil when Vercel did not say.
        public let scopes: [String]?
        public let status: String
        public let tokenExpiresAt: Date?
        public let lastSyncAt: Date?

        public func encode(to encoder: any Encoder) throws {
            enum Keys: String, CodingKey {
                case id, teamId, teamName, accountType, scopes, status, tokenExpiresAt, lastSyncAt
            }
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(id.uuidString.lowercased(), forKey: .id)
            try container.encode(teamId, forKey: .teamId)
            try container.encode(teamName, forKey: .teamName)
            try container.encode(accountType, forKey: .accountType)
            try container.encode(scopes, forKey: .scopes)
            try container.encode(status, forKey: .status)
            try container.encode(tokenExpiresAt, forKey: .tokenExpiresAt)
            try container.encode(lastSyncAt, forKey: .lastSyncAt)
        }
    }

    /// The user's connections that are not disconnected, newest first (at most 50).
    public func summaries(of userID: UUID) throws -> [Summary] {
        try database.query(
            """
            SELECT id, team_id, team_name, account_type, array_to_json(granted_scopes)::text AS scopes, status::text AS status,
                   token_expires_at, last_sync_at
            FROM vercel_connections
            WHERE user_id = \(userID) AND status <> 'disconnected'
            ORDER BY updated_at DESC
            LIMIT 50
            """
        ).map { row in
            Summary(
                id: try row.decode("id"), teamId: row["team_id"], teamName: row["team_name"],
                accountType: try row.decode("account_type"),
                scopes: row["scopes"].flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) },
                status: try row.decode("status"), tokenExpiresAt: try row.decodeIfPresent("token_expires_at"),
                lastSyncAt: try row.decodeIfPresent("last_sync_at"))
        }
    }

    /// Stores a refreshed token pair, sealed for this row, and clears the failure count.
    public func replaceTokens(
        _ id: UUID, access: String, refresh: String, expiresAt: Date?
    ) throws {
        let sealedAccess = try keyRing.seal(access, context: Self.context("access_token_sealed", id))
        let sealedRefresh = try keyRing.seal(refresh, context: Self.context("refresh_token_sealed", id))
        try database.execute(
            """
            UPDATE vercel_connections SET access_token_sealed = \(sealedAccess), refresh_token_sealed = \(sealedRefresh),
              token_key_id = \(keyRing.currentKeyID), token_expires_at = \(expiresAt), refresh_failures = 0, status = 'connected',
              error_message = NULL, correlation_id = \(Trace.requestID), updated_at = now()
            WHERE id = \(id)
            """)
    }

    /// Vercel says the integration configuration was removed: its connections lose their tokens and
    /// become `revoked`. Returns the connections changed.
    @discardableResult
    public func markRevoked(configurationID: String) throws -> [UUID] {
        let ids: [UUID] = try database.query(
            """
            UPDATE vercel_connections SET access_token_sealed = NULL, refresh_token_sealed = NULL, token_expires_at = NULL,
              status = 'revoked', error_message = 'integration removed in Vercel', correlation_id = \(Trace.requestID), updated_at = now()
            WHERE configuration_id = \(configurationID) AND status <> 'revoked'
            RETURNING id
            """
        ).map { try $0.decode("id") }
        for id in ids {
            try SecurityAudit(database: database).record(
                .vercelIntegrationRemoved, severity: .medium, connection: id)
        }
        return ids
    }

    /// Adds the permissions Vercel reports granted to an installation (a permission upgrade) to its
    /// connections' known ones. A connection whose permissions are unknown stays unknown: the
    /// upgrade does not say what else it holds. A `read-write:` permission replaces its `read:`.
    /// Run inside the caller's transaction (the webhook's).
    public func grant(_ permissions: [VercelPermission], configurationID: String) throws {
        guard !permissions.isEmpty else { return }
        let rows = try database.query(
            """
            SELECT id, array_to_json(granted_scopes)::text AS scopes FROM vercel_connections
            WHERE configuration_id = \(configurationID) AND status <> 'revoked' AND granted_scopes IS NOT NULL
            FOR UPDATE
            """)
        for row in rows {
            let id: UUID = try row.decode("id")
            let stored = row["scopes"].flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) } ?? []
            var held = VercelPermission.parse(stored)
            var changed = false
            for permission in permissions where !permission.isGranted(by: held) {
                held.removeAll { permission.includes($0) }
                held.append(permission)
                changed = true
            }
            guard changed else { continue }
            let names = held.map(\.description)
            try database.execute(
                """
                UPDATE vercel_connections SET granted_scopes = \(names), correlation_id = \(Trace.requestID), updated_at = now()
                WHERE id = \(id)
                """)
            try SecurityAudit(database: database).record(
                .vercelPermissionsUpgraded, severity: .low, connection: id)
        }
    }

    /// Forgets a connection's tokens and marks it disconnected.
    public func disconnect(_ id: UUID) throws {
        try database.execute(
            """
            UPDATE vercel_connections SET access_token_sealed = NULL, refresh_token_sealed = NULL, token_expires_at = NULL,
              status = 'disconnected', correlation_id = \(Trace.requestID), updated_at = now()
            WHERE id = \(id)
            """)
    }
}
