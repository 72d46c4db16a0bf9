import Crypto
import Kernel
import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The single-use `state` of each authorization started: kept only as its SHA-256, bound to the
/// user, team and return page, with the PKCE verifier sealed for its row.
public struct OAuthStateStore {
    public static let lifetimeSeconds = 600

    let database: PostgresConnection
    let keyRing: KeyRing

    public init(database: PostgresConnection, keyRing: KeyRing) {
        self.database = database
        self.keyRing = keyRing
    }

    static func context(_ stateHash: String) -> SealContext {
        SealContext(table: "vercel_oauth_states", column: "code_verifier_sealed", rowID: stateHash)
    }

    /// How many authorizations `userID` has started that are neither finished nor expired.
    public func pendingCount(_ userID: UUID) throws -> Int {
        try database.query(
            "SELECT count(*) AS n FROM vercel_oauth_states WHERE user_id = \(userID) AND consumed_at IS NULL AND expires_at > now()"
        )[0].decode("n")
    }

    /// An authorization just started.
    public struct Started: Sendable {
        public let state: String
        public let verifier: String
        public let expiresAt: Date
    }

    /// Starts an authorization: a new state and PKCE verifier, stored.
    public func start(
        userID: UUID, projectID: UUID?, teamID: String?, redirectURI: String?, mode: String
    ) throws -> Started {
        let state = try SecureRandom.token(byteCount: 32)
        let stateHash = Digest.sha256Hex(state)
        let verifier = try SecureRandom.token(byteCount: 32)
        let sealed = try keyRing.seal(verifier, context: Self.context(stateHash))
        let expires: Date = try database.query(
            """
            INSERT INTO vercel_oauth_states (state_hash, user_id, project_id, team_id, redirect_uri, code_verifier_sealed, auth_mode,
              correlation_id, expires_at)
            VALUES (\(stateHash), \(userID), \(projectID), \(teamID), \(redirectURI), \(sealed),
              \(mode), \(Trace.requestID), now() + make_interval(secs => \(Self.lifetimeSeconds)))
            RETURNING expires_at
            """)[0].decode("expires_at")
        return Started(state: state, verifier: verifier, expiresAt: expires)
    }

    /// An authorization whose state was just spent.
    public struct Spent: Sendable {
        public let userID: UUID
        public let teamID: String?
        public let redirectURI: String?
        public let mode: String
        /// The PKCE verifier, opened; nil when none was kept.
        public let verifier: String?
    }

    /// Spends `state` in one statement; nil when it is unknown, spent or expired.
    public func spend(_ state: String) throws -> Spent? {
        guard (16...256).contains(state.utf8.count) else { return nil }
        guard
            let row = try database.query(
                """
                UPDATE vercel_oauth_states SET consumed_at = now()
                WHERE state_hash = \(Digest.sha256Hex(state)) AND consumed_at IS NULL AND expires_at > now()
                RETURNING state_hash, user_id, team_id, redirect_uri, code_verifier_sealed, auth_mode
                """
            ).first
        else { return nil }
        let verifier = try row["code_verifier_sealed"].map {
            try keyRing.open($0, context: Self.context(try row.decode("state_hash")))
        }
        return Spent(
            userID: try row.decode("user_id"), teamID: row["team_id"], redirectURI: row["redirect_uri"],
            mode: try row.decode("auth_mode"),
            verifier: verifier)
    }
}
