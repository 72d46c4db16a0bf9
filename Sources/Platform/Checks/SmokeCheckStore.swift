import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The smoke checks each linked project sets (`vercel_smoke_check_settings`): read for a
/// deployment's probe, replaced whole by the project's owner.
public struct SmokeCheckStore {
    let database: PostgresConnection

    public init(database: PostgresConnection) {
        self.database = database
    }

    /// A project's checks, whether they are its own (false: the default), and whether its
    /// deployments are checked at all.
    public struct Settings: Encodable, Sendable, Equatable {
        public let enabled: Bool
        public let checks: [SmokeCheck]
        public let custom: Bool
        public let updatedAt: Date?
    }

    public func settings(mappingID: UUID) throws -> Settings {
        guard
            let row = try database.query(
                """
                SELECT checks::text AS checks, enabled, updated_at FROM vercel_smoke_check_settings
                WHERE vercel_project_mapping_id = \(mappingID)
                """
            ).first
        else { return Settings(enabled: true, checks: [.root], custom: false, updatedAt: nil) }
        let checks = try JSONDecoder().decode(
            [SmokeCheck].self, from: Data(try row.decode("checks", as: String.self).utf8))
        return Settings(
            enabled: try row.decode("enabled"), checks: checks, custom: true, updatedAt: try row.decode("updated_at"))
    }

    /// Replaces a project's checks; an empty list returns it to the default. The checks must have
    /// been validated (`SmokeCheck.problem`).
    public func replace(
        mappingID: UUID, with checks: [SmokeCheck], enabled: Bool = true, by userID: UUID
    ) throws -> Settings {
        if checks.isEmpty, enabled {
            try database.execute(
                "DELETE FROM vercel_smoke_check_settings WHERE vercel_project_mapping_id = \(mappingID)")
            return try settings(mappingID: mappingID)
        }
        let encoded = String(decoding: try JSONEncoder().encode(checks.isEmpty ? [.root] : checks), as: UTF8.self)
        try database.execute(
            """
            INSERT INTO vercel_smoke_check_settings (vercel_project_mapping_id, checks, enabled, updated_by)
            VALUES (\(mappingID), \(encoded)::jsonb, \(enabled), \(userID))
            ON CONFLICT (vercel_project_mapping_id) DO UPDATE SET checks = EXCLUDED.checks, enabled = EXCLUDED.enabled,
              updated_by = EXCLUDED.updated_by, updated_at = now()
            """)
        return try settings(mappingID: mappingID)
    }
}
