import Crypto
import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The platform's side of env sync: its values (`vercel_local_env_vars`, sealed with the row bound
/// into the ciphertext), the base and ownership of each slot (`vercel_env_sync_state`), and the
/// confirmations of dry-run plans (`vercel_env_sync_confirmations`, only a hash of each token).
public struct EnvStore {
    let database: PostgresConnection
    let keyRing: KeyRing
    public let hasher: EnvValueHasher

    public init(database: PostgresConnection, keyRing: KeyRing, hasher: EnvValueHasher) {
        self.database = database
        self.keyRing = keyRing
        self.hasher = hasher
    }

    static func context(_ id: UUID) -> SealContext {
        SealContext(table: "vercel_local_env_vars", column: "value_sealed", rowID: id.uuidString.lowercased())
    }

    /// One of the platform's values, still sealed.
    public struct Local: Sendable {
        public let id: UUID
        public let slot: EnvPlan.Slot
        public let type: String
        public let hash: String
        public let updatedAt: Date
        let sealed: String
    }

    /// Opens a value: only where a value must leave (to Vercel) or a mask be made.
    public func value(of local: Local) throws -> String {
        try keyRing.open(local.sealed, context: Self.context(local.id))
    }

    /// The project's values; with `target`, only that target's.
    public func locals(projectID: UUID, target: String? = nil) throws -> [Local] {
        try database.query(
            """
            SELECT id, key, target::text AS target, git_branch, type, value_hash, value_sealed, updated_at
            FROM vercel_local_env_vars
            WHERE project_id = \(projectID) AND (\(target)::text IS NULL OR target::text = \(target))
            ORDER BY key, target, git_branch
            """
        ).map { row in
            Local(
                id: try row.decode("id"),
                slot: EnvPlan.Slot(
                    key: try row.decode("key"), target: try row.decode("target"),
                    gitBranch: try row.decodeIfPresent("git_branch")),
                type: try row.decode("type"), hash: try row.decode("value_hash"),
                updatedAt: try row.decode("updated_at"),
                sealed: try row.decode("value_sealed"))
        }
    }

    /// Runs one write of `key` (the platform's value, then Vercel's): never beside another write of
    /// the key, nor beside a sync of the project's variables. Nil, without running `body`, while a
    /// sync runs.
    public func writing<T>(_ key: String, of projectID: UUID, _ body: () throws -> T) throws -> T? {
        try database.withSharedAdvisoryLockIfFree(Self.syncLock(projectID)) {
            try database.withAdvisoryLock(Self.keyLock(projectID, key), body)
        }
    }

    /// Sets `value` in each of `slots` at once: the hash of the value.
    public func setLocal(_ value: String, slots: [EnvPlan.Slot], type: String, projectID: UUID) throws -> String {
        try database.transaction {
            var hash = ""
            for slot in slots { hash = try setLocal(value, slot: slot, type: type, projectID: projectID) }
            return hash
        }
    }

    /// Sets the platform's value of `slot`, sealed under the row it is stored in.
    @discardableResult
    public func setLocal(_ value: String, slot: EnvPlan.Slot, type: String, projectID: UUID) throws -> String {
        let hash = hasher.hash(value, projectID: projectID)
        let existing: UUID? = try database.query(
            """
            SELECT id FROM vercel_local_env_vars
            WHERE project_id = \(projectID) AND key = \(slot.key) AND target::text = \(slot.target)
              AND coalesce(git_branch, '') = \(slot.gitBranch ?? "")
            """
        ).first?.decode("id")
        let id = existing ?? UUID()
        let sealed = try keyRing.seal(value, context: Self.context(id))
        try database.execute(
            """
            INSERT INTO vercel_local_env_vars (id, project_id, key, target, git_branch, value_sealed, value_hash, type)
            VALUES (\(id), \(projectID), \(slot.key), \(slot.target)::vercel_env_target, \(slot.gitBranch), \(sealed), \(hash), \(type))
            ON CONFLICT (id) DO UPDATE SET value_sealed = excluded.value_sealed, value_hash = excluded.value_hash,
              type = excluded.type, updated_at = now()
            """)
        return hash
    }

    /// The lock one write of `key` (the platform's value, then Vercel's) holds, so writes of one
    /// key never interleave.
    public static func keyLock(_ projectID: UUID, _ key: String) -> String { "vercel.env-key:\(projectID):\(key)" }

    /// The lock a sync of the project's variables holds alone, and each write of one key shares:
    /// a sync and a write never interleave (the one that comes second is told `SYNC_IN_PROGRESS`).
    public static func syncLock(_ projectID: UUID) -> String {
        "sheen.vercel.env-sync.\(projectID.uuidString.lowercased())"
    }

    /// Deletes the platform's values of `key` (in `target`, or every target); how many.
    public func deleteLocal(key: String, target: String?, gitBranch: String?, projectID: UUID) throws -> Int {
        try database.execute(
            """
            DELETE FROM vercel_local_env_vars
            WHERE project_id = \(projectID) AND key = \(key) AND (\(target)::text IS NULL OR target::text = \(target))
              AND coalesce(git_branch, '') = \(gitBranch ?? "")
            """)
    }

    /// The base and ownership of a slot.
    public struct State: Sendable, Equatable {
        public let base: EnvPlan.Base
        public let owned: Bool

        public init(base: EnvPlan.Base, owned: Bool) {
            self.base = base
            self.owned = owned
        }
    }

    public func states(projectID: UUID) throws -> [EnvPlan.Slot: State] {
        var states: [EnvPlan.Slot: State] = [:]
        for row in try database.query(
            """
            SELECT key, target::text AS target, git_branch, value_hash, vercel_env_id, vercel_updated_at, owned
            FROM vercel_env_sync_state WHERE project_id = \(projectID)
            """)
        {
            let branch: String = try row.decode("git_branch")
            states[
                EnvPlan.Slot(
                    key: try row.decode("key"), target: try row.decode("target"),
                    gitBranch: branch.isEmpty ? nil : branch)
            ] = State(
                base: EnvPlan.Base(
                    hash: try row.decode("value_hash"), vercelID: try row.decode("vercel_env_id"),
                    vercelUpdatedAt: try row.decode("vercel_updated_at")),
                owned: try row.decode("owned"))
        }
        return states
    }

    /// Records what both sides hold for `slot` after a change applied to it.
    public func saveState(_ slot: EnvPlan.Slot, _ state: State, projectID: UUID) throws {
        try database.execute(
            """
            INSERT INTO vercel_env_sync_state (project_id, key, target, git_branch, value_hash, vercel_env_id, vercel_updated_at, owned)
            VALUES (\(projectID), \(slot.key), \(slot.target)::vercel_env_target, \(slot.gitBranch ?? ""), \(state.base.hash),
              \(state.base.vercelID), \(state.base.vercelUpdatedAt), \(state.owned))
            ON CONFLICT (project_id, key, target, git_branch) DO UPDATE SET value_hash = excluded.value_hash,
              vercel_env_id = excluded.vercel_env_id, vercel_updated_at = excluded.vercel_updated_at,
              owned = excluded.owned, updated_at = now()
            """)
    }

    /// Saves the state of every slot of `states` in one statement, however many there are.
    public func saveStates(_ states: [EnvPlan.Slot: State], projectID: UUID) throws {
        guard !states.isEmpty else { return }
        let rows = Array(states)
        let keys = rows.map(\.key.key)
        let targets = rows.map(\.key.target)
        let branches = rows.map { $0.key.gitBranch ?? "" }
        let hashes = rows.map(\.value.base.hash)
        let ids = rows.map(\.value.base.vercelID)
        let updated = rows.map { String($0.value.base.vercelUpdatedAt) }
        let owned = rows.map { $0.value.owned ? "true" : "false" }
        try database.execute(
            """
            INSERT INTO vercel_env_sync_state (project_id, key, target, git_branch, value_hash, vercel_env_id, vercel_updated_at, owned)
            SELECT \(projectID), k, t::vercel_env_target, b, h, i, u::bigint, o::boolean
            FROM unnest(\(keys)::text[], \(targets)::text[], \(branches)::text[], \(hashes)::text[], \(ids)::text[],
                        \(updated)::text[], \(owned)::text[]) AS s(k, t, b, h, i, u, o)
            ON CONFLICT (project_id, key, target, git_branch) DO UPDATE SET value_hash = excluded.value_hash,
              vercel_env_id = excluded.vercel_env_id, vercel_updated_at = excluded.vercel_updated_at,
              owned = excluded.owned, updated_at = now()
            """)
    }

    /// Forgets the state of every slot of `slots` in one statement.
    public func dropStates(_ slots: [EnvPlan.Slot], projectID: UUID) throws {
        guard !slots.isEmpty else { return }
        try database.execute(
            """
            DELETE FROM vercel_env_sync_state s
            USING unnest(\(slots.map(\.key))::text[], \(slots.map(\.target))::text[],
                         \(slots.map { $0.gitBranch ?? "" })::text[]) AS d(k, t, b)
            WHERE s.project_id = \(projectID) AND s.key = d.k AND s.target::text = d.t AND s.git_branch = d.b
            """)
    }

    public func dropState(_ slot: EnvPlan.Slot, projectID: UUID) throws {
        try database.execute(
            """
            DELETE FROM vercel_env_sync_state
            WHERE project_id = \(projectID) AND key = \(slot.key) AND target::text = \(slot.target)
              AND git_branch = \(slot.gitBranch ?? "")
            """)
    }

    /// A confirmation token for a dry run's plan: valid 10 minutes, once, for this project, target
    /// and direction. Only its hash is kept.
    public func issueConfirmation(
        projectID: UUID, userID: UUID, target: String, direction: String, planDigest: String
    ) throws -> (token: String, expiresAt: Date) {
        let token = "envsync_" + (try SecureRandom.token())
        let rows = try database.query(
            """
            INSERT INTO vercel_env_sync_confirmations (token_hash, project_id, user_id, plan_hash, expires_at, target, direction)
            VALUES (\(Digest.sha256Hex(token)), \(projectID), \(userID), \(planDigest), now() + interval '10 minutes',
              \(target)::vercel_env_target, \(direction))
            RETURNING expires_at
            """)
        return (token, try rows[0].decode("expires_at"))
    }

    public enum Confirmation: Equatable {
        case confirmed
        /// Unknown, used, expired, or for another project, target, direction or user.
        case invalid
        /// Valid, but the plan has changed since the dry run.
        case stale
    }

    /// Spends a confirmation if it confirms exactly `planDigest`; a stale one is spent too, so a
    /// confirmation never applies anything but the plan it was shown.
    public func consumeConfirmation(
        _ token: String, projectID: UUID, userID: UUID, target: String, direction: String, planDigest: String
    ) throws -> Confirmation {
        guard
            let row = try database.query(
                """
                UPDATE vercel_env_sync_confirmations SET consumed_at = now()
                WHERE token_hash = \(Digest.sha256Hex(token)) AND project_id = \(projectID) AND user_id = \(userID)
                  AND target::text = \(target) AND direction = \(direction) AND consumed_at IS NULL AND expires_at > now()
                RETURNING plan_hash
                """
            ).first
        else { return .invalid }
        return ConstantTime.equals(try row.decode("plan_hash", as: String.self), planDigest) ? .confirmed : .stale
    }
}
