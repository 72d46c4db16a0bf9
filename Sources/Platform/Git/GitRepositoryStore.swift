import Crypto
import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The git repository a project deploys from, with its webhook secrets and provider token, sealed
/// where they lie (`vercel_git_provider_credentials`). One repository per project; a repository
/// may serve several projects, each proving deliveries with its own secret.
public struct GitRepositoryStore {
    let database: PostgresConnection
    let keyRing: KeyRing

    public init(database: PostgresConnection, keyRing: KeyRing) {
        self.database = database
        self.keyRing = keyRing
    }

    /// How long the secret a PUT replaced stays valid, so deliveries the provider still signs with
    /// it are not refused while the webhook is changed.
    public static let rotationGrace: Duration = .seconds(24 * 3600)

    public struct Configured: Sendable {
        public let provider: GitProvider
        public let repository: String
        public let tokenStored: Bool
        /// Until when the previous secret is still accepted; nil when only one is.
        public let previousSecretValidUntil: Date?
        public let refusedDeliveries: Int64
        public let lastRefusedAt: Date?
        public let updatedAt: Date
    }

    /// What `projectID` deploys from; nil when nothing is configured.
    public func configured(_ projectID: UUID) throws -> Configured? {
        guard
            let row = try database.query(
                """
                SELECT provider, repository, access_token_sealed IS NOT NULL AS token_stored,
                  CASE WHEN previous_secret_valid_until > now() THEN previous_secret_valid_until END AS previous_until,
                  refused_deliveries, last_refused_at, updated_at
                FROM vercel_git_provider_credentials WHERE project_id = \(projectID)
                """
            ).first
        else { return nil }
        return Configured(
            provider: GitProvider(rawValue: try row.decode("provider")) ?? .github,
            repository: try row.decode("repository"), tokenStored: try row.decode("token_stored"),
            previousSecretValidUntil: try row.decodeIfPresent("previous_until"),
            refusedDeliveries: try row.decode("refused_deliveries"),
            lastRefusedAt: try row.decodeIfPresent("last_refused_at"),
            updatedAt: try row.decode("updated_at"))
    }

    /// Stores the repository of `projectID` with `secret`. When the same repository was configured
    /// already, its secret stays valid for `rotationGrace`; a token given replaces the stored one,
    /// and none given keeps it for the same repository.
    public func configure(
        _ projectID: UUID, provider: GitProvider, repository: String, secret: String, token: String?
    ) throws -> Configured {
        try database.transaction {
            let existing = try database.query(
                """
                SELECT id, provider, repository, webhook_secret_sealed, access_token_sealed
                FROM vercel_git_provider_credentials WHERE project_id = \(projectID) FOR UPDATE
                """
            ).first
            let id: UUID = try existing?.decode("id") ?? UUID()
            let sameRepository =
                existing.map {
                    $0["provider"] == provider.rawValue && $0["repository"]?.lowercased() == repository.lowercased()
                } ?? false
            var previous: String?
            var keptToken: String?
            if sameRepository, let existing {
                let old = try keyRing.open(
                    try existing.decode("webhook_secret_sealed"), context: context(id, "webhook_secret_sealed"))
                if !ConstantTime.equals(old, secret) {
                    previous = try keyRing.seal(old, context: context(id, "previous_webhook_secret_sealed"))
                }
                keptToken = existing["access_token_sealed"]
            }
            let sealedSecret = try keyRing.seal(secret, context: context(id, "webhook_secret_sealed"))
            let sealedToken =
                try token.map { try keyRing.seal($0, context: context(id, "access_token_sealed")) } ?? keptToken
            try database.execute(
                """
                INSERT INTO vercel_git_provider_credentials AS c (id, project_id, provider, repository, webhook_secret_sealed,
                  access_token_sealed, previous_webhook_secret_sealed, previous_secret_valid_until)
                VALUES (\(id), \(projectID), \(provider.rawValue), \(repository), \(sealedSecret), \(sealedToken), \(previous),
                  CASE WHEN \(previous)::text IS NULL THEN NULL ELSE now() + make_interval(secs => \(Int(Self.rotationGrace.components.seconds))) END)
                ON CONFLICT (project_id) DO UPDATE SET
                  provider = EXCLUDED.provider, repository = EXCLUDED.repository,
                  webhook_secret_sealed = EXCLUDED.webhook_secret_sealed, access_token_sealed = EXCLUDED.access_token_sealed,
                  previous_webhook_secret_sealed = CASE WHEN \(sameRepository) AND EXCLUDED.previous_webhook_secret_sealed IS NULL
                    THEN c.previous_webhook_secret_sealed ELSE EXCLUDED.previous_webhook_secret_sealed END,
                  previous_secret_valid_until = CASE WHEN \(sameRepository) AND EXCLUDED.previous_webhook_secret_sealed IS NULL
                    THEN c.previous_secret_valid_until ELSE EXCLUDED.previous_secret_valid_until END,
                  refused_deliveries = CASE WHEN \(sameRepository) THEN c.refused_deliveries ELSE 0 END,
                  last_refused_at = CASE WHEN \(sameRepository) THEN c.last_refused_at END,
                  updated_at = now()
                """)
            guard let configured = try configured(projectID) else {
                throw PostgresError.decoding(column: "vercel_git_provider_credentials", type: "stored row")
            }
            return configured
        }
    }

    /// Removes the repository of `projectID`; whether there was one.
    public func remove(_ projectID: UUID) throws -> Bool {
        try database.execute("DELETE FROM vercel_git_provider_credentials WHERE project_id = \(projectID)") > 0
    }

    /// A project a repository's deliveries may be for, with the secrets that prove them.
    public struct Candidate: Sendable {
        public let credentialID: UUID
        public let projectID: UUID
        public let secrets: [[UInt8]]
    }

    /// The projects configured with `repository` of `provider` (its name compared without case),
    /// each with its current secret and, during a rotation, its previous one. At most 50.
    public func candidates(_ provider: GitProvider, repository: String) throws -> [Candidate] {
        try database.query(
            """
            SELECT id, project_id, webhook_secret_sealed,
              CASE WHEN previous_secret_valid_until > now() THEN previous_webhook_secret_sealed END AS previous_sealed
            FROM vercel_git_provider_credentials
            WHERE provider = \(provider.rawValue) AND lower(repository) = lower(\(repository))
            ORDER BY created_at LIMIT 50
            """
        ).map { row in
            let id: UUID = try row.decode("id")
            var secrets = [
                Array(
                    try keyRing.open(
                        try row.decode("webhook_secret_sealed"), context: context(id, "webhook_secret_sealed")
                    ).utf8)
            ]
            if let previous = row["previous_sealed"] {
                secrets.append(
                    Array(try keyRing.open(previous, context: context(id, "previous_webhook_secret_sealed")).utf8))
            }
            return Candidate(credentialID: id, projectID: try row.decode("project_id"), secrets: secrets)
        }
    }

    /// Counts a refused delivery against each of `credentialIDs`: what the project's owner sees of
    /// deliveries that did not prove themselves (nothing of their bodies is kept). Anyone who knows
    /// a repository's name can send them, so they are added up in the process and written at most
    /// once a minute per repository (`RefusedDeliveries`), not once each.
    public func refused(_ credentialIDs: [UUID]) throws {
        let due = RefusedDeliveries.shared.count(credentialIDs)
        guard !due.isEmpty else { return }
        try database.execute(
            """
            UPDATE vercel_git_provider_credentials AS c SET refused_deliveries = c.refused_deliveries + due.count,
              last_refused_at = now()
            FROM unnest(\(due.map(\.id.uuidString))::uuid[], \(due.map { String($0.count) })::bigint[]) AS due(id, count)
            WHERE c.id = due.id
            """)
    }

    func context(_ id: UUID, _ column: String) -> SealContext {
        SealContext(table: "vercel_git_provider_credentials", column: column, rowID: id.uuidString.lowercased())
    }
}
