import Postgres
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The leases of the build log pumps (`vercel_log_pumps`): one pump per deployment across every
/// host. A process claims a deployment's lease before it opens Vercel's stream, renews all it holds
/// in one statement every few seconds, and lets it go when the pump ends; a lease not renewed in
/// time (its host died, or lost Postgres) may be claimed by another host.
public struct LogPumpLeaseStore {
    let database: PostgresConnection

    public init(database: PostgresConnection) {
        self.database = database
    }

    /// How long a claim or a renewal holds, and how long a finished deployment's channel keeps its
    /// events (no host pumps it again meanwhile).
    public static let leaseSeconds = 12
    public static let retentionSeconds = 3600

    public enum Claim: Equatable, Sendable {
        /// Ours: pump it.
        case claimed
        /// Another process holds a live lease on it.
        case held(by: String)
        /// Its build's end was published within the channel's retention: nothing to pump.
        case finished
    }

    /// Claims the deployment for `holder`: a new row, or one whose lease lapsed (or is already
    /// `holder`'s), unless its build's end was published within the retention.
    public func claim(_ deploymentID: String, holder: String) throws -> Claim {
        let claimed = try database.query(
            """
            INSERT INTO vercel_log_pumps AS p (deployment_id, holder, lease_until)
            VALUES (\(deploymentID), \(holder), now() + make_interval(secs => \(Self.leaseSeconds)))
            ON CONFLICT (deployment_id) DO UPDATE
              SET holder = EXCLUDED.holder, lease_until = EXCLUDED.lease_until, started_at = now(), finished_at = NULL,
                takeovers = p.takeovers + CASE WHEN p.finished_at IS NULL AND p.holder <> EXCLUDED.holder THEN 1 ELSE 0 END
              WHERE (p.finished_at IS NULL AND (p.lease_until < now() OR p.holder = EXCLUDED.holder))
                 OR p.finished_at < now() - make_interval(secs => \(Self.retentionSeconds))
            RETURNING holder
            """)
        if !claimed.isEmpty { return .claimed }
        let rows = try database.query(
            "SELECT holder, finished_at IS NOT NULL AS finished FROM vercel_log_pumps WHERE deployment_id = \(deploymentID)"
        )
        guard let row = rows.first else { return .held(by: "") }
        return try row.decode("finished", as: Bool.self) ? .finished : .held(by: try row.decode("holder"))
    }

    /// Renews `holder`'s leases on `deploymentIDs`; the ones still its own (a lease that lapsed
    /// and was claimed by another host is not).
    public func renew(_ deploymentIDs: [String], holder: String) throws -> Set<String> {
        guard !deploymentIDs.isEmpty else { return [] }
        let rows = try database.query(
            """
            UPDATE vercel_log_pumps SET lease_until = now() + make_interval(secs => \(Self.leaseSeconds))
            WHERE deployment_id = ANY(\(deploymentIDs)) AND holder = \(holder) AND finished_at IS NULL
            RETURNING deployment_id
            """)
        return Set(try rows.map { try $0.decode("deployment_id", as: String.self) })
    }

    /// Lets the lease go: the deployment is `finished` when its build's end was published, else it
    /// is free for the next claim at once.
    public func release(_ deploymentID: String, holder: String, finished: Bool) throws {
        try database.execute(
            """
            UPDATE vercel_log_pumps
            SET lease_until = now(), finished_at = CASE WHEN \(finished) THEN now() END
            WHERE deployment_id = \(deploymentID) AND holder = \(holder)
            """)
    }

    /// Forgets leases that ended more than a day ago (the cleanup job).
    public func forgetEnded() throws -> Int {
        try database.execute("DELETE FROM vercel_log_pumps WHERE lease_until < now() - interval '1 day'")
    }
}

/// This process's side of the leases: its holder name, one connection for all its pumps, and the
/// time until which each lease it holds is surely its own (the last renewal that Postgres
/// confirmed, counted from before it was sent, less a margin). A pump publishes only while its
/// lease is surely its own, so a process that stalls past its lease stops instead of writing beside
/// the host that took over.
public final class LogPumpLeaseKeeper: Sendable {
    public let holder: String
    private let configuration: PostgresConnection.Configuration
    private let database: Mutex<PostgresConnection?>
    private let owned = Mutex<[String: ContinuousClock.Instant]>([:])

    /// How long before a lease's end the process stops counting it as its own.
    static let margin: Duration = .seconds(3)

    public init(_ settings: ServiceConfiguration, holder: String) {
        self.holder = holder
        configuration = .init(
            url: settings.databaseURL, statementTimeout: .seconds(3), connectTimeoutSeconds: 3,
            applicationName: "sheen-vercel-log-pumps")
        database = Mutex(nil)
    }

    private func withStore<T: Sendable>(_ body: (LogPumpLeaseStore) throws -> T) throws -> T {
        try database.withLock { connection -> T in
            let live = connection ?? PostgresConnection(configuration)
            connection = live
            do {
                return try body(LogPumpLeaseStore(database: live))
            } catch {
                live.close()
                throw error
            }
        }
    }

    /// Claims the deployment's lease for this process.
    public func claim(_ deploymentID: String) throws -> LogPumpLeaseStore.Claim {
        let sent = ContinuousClock.now
        let claim = try withStore { try $0.claim(deploymentID, holder: holder) }
        if claim == .claimed { owned.withLock { $0[deploymentID] = Self.deadline(from: sent) } }
        return claim
    }

    /// Whether the deployment's lease is surely this process's now.
    public func holds(_ deploymentID: String) -> Bool {
        owned.withLock { $0[deploymentID].map { ContinuousClock.now < $0 } ?? false }
    }

    /// Renews every lease this process holds, in one statement; a lease Postgres no longer counts
    /// as ours is forgotten (its pump stops at its next event).
    public func renew() throws {
        let held = owned.withLock { Array($0.keys) }
        guard !held.isEmpty else { return }
        let sent = ContinuousClock.now
        let kept = try withStore { try $0.renew(held, holder: holder) }
        owned.withLock { owned in
            for deploymentID in held where owned[deploymentID] != nil {
                if kept.contains(deploymentID) {
                    owned[deploymentID] = Self.deadline(from: sent)
                } else {
                    owned[deploymentID] = nil
                }
            }
        }
    }

    /// Lets the lease go (`finished`: the build's end was published).
    public func release(_ deploymentID: String, finished: Bool) {
        owned.withLock { _ = $0.removeValue(forKey: deploymentID) }
        // A release that does not reach Postgres lapses with the lease.
        _ = try? withStore { try $0.release(deploymentID, holder: holder, finished: finished) }
    }

    public var count: Int { owned.withLock { $0.count } }

    private static func deadline(from sent: ContinuousClock.Instant) -> ContinuousClock.Instant {
        sent + .seconds(LogPumpLeaseStore.leaseSeconds) - margin
    }
}
