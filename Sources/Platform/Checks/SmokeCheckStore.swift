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
        public let rollback: Rollback
        public let updatedAt: Date?
    }

    /// Rollback on its own: whether a promotion is watched, for how long, and how many
    /// consecutive failed runs of the checks (one a minute) roll production back.
    public struct Rollback: Codable, Sendable, Equatable {
        public let enabled: Bool
        public let windowMinutes: Int
        public let failures: Int

        public init(enabled: Bool, windowMinutes: Int, failures: Int) {
            self.enabled = enabled
            self.windowMinutes = windowMinutes
            self.failures = failures
        }

        public static let standard = Rollback(enabled: true, windowMinutes: 15, failures: 3)
        public static let windows = 1...1440
        public static let failureCounts = 1...60

        /// What is wrong with these settings, or nil.
        public var problem: String? {
            if !Self.windows.contains(windowMinutes) {
                return "rollback.windowMinutes must be \(Self.windows.lowerBound) to \(Self.windows.upperBound)"
            }
            if !Self.failureCounts.contains(failures) {
                return "rollback.failures must be \(Self.failureCounts.lowerBound) to \(Self.failureCounts.upperBound)"
            }
            return nil
        }
    }

    public func settings(mappingID: UUID) throws -> Settings {
        guard
            let row = try database.query(
                """
                SELECT checks::text AS checks, enabled, rollback_enabled, rollback_window_minutes, rollback_failures,
                  updated_at
                FROM vercel_smoke_check_settings WHERE vercel_project_mapping_id = \(mappingID)
                """
            ).first
        else { return Settings(enabled: true, checks: [.root], custom: false, rollback: .standard, updatedAt: nil) }
        let checks = try JSONDecoder().decode(
            [SmokeCheck].self, from: Data(try row.decode("checks", as: String.self).utf8))
        let rollback = Rollback(
            enabled: try row.decode("rollback_enabled"), windowMinutes: try row.decode("rollback_window_minutes"),
            failures: try row.decode("rollback_failures"))
        return Settings(
            enabled: try row.decode("enabled"), checks: checks, custom: true, rollback: rollback,
            updatedAt: try row.decode("updated_at"))
    }

    /// Replaces a project's checks; an empty list returns it to the default. The checks must have
    /// been validated (`SmokeCheck.problem`, `Rollback.problem`).
    public func replace(
        mappingID: UUID, with checks: [SmokeCheck], enabled: Bool = true, rollback: Rollback = .standard,
        by userID: UUID
    ) throws -> Settings {
        if checks.isEmpty, enabled, rollback == .standard {
            try database.execute(
                "DELETE FROM vercel_smoke_check_settings WHERE vercel_project_mapping_id = \(mappingID)")
            return try settings(mappingID: mappingID)
        }
        let encoded = String(decoding: try JSONEncoder().encode(checks.isEmpty ? [.root] : checks), as: UTF8.self)
        try database.execute(
            """
            INSERT INTO vercel_smoke_check_settings (vercel_project_mapping_id, checks, enabled, rollback_enabled,
              rollback_window_minutes, rollback_failures, updated_by)
            VALUES (\(mappingID), \(encoded)::jsonb, \(enabled), \(rollback.enabled), \(rollback.windowMinutes),
              \(rollback.failures), \(userID))
            ON CONFLICT (vercel_project_mapping_id) DO UPDATE SET checks = EXCLUDED.checks, enabled = EXCLUDED.enabled,
              rollback_enabled = EXCLUDED.rollback_enabled, rollback_window_minutes = EXCLUDED.rollback_window_minutes,
              rollback_failures = EXCLUDED.rollback_failures, updated_by = EXCLUDED.updated_by, updated_at = now()
            """)
        return try settings(mappingID: mappingID)
    }
}
