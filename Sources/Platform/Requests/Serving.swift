import Synchronization
import Vercel

/// What one function process shares between its workers to keep a slow Vercel from stalling it:
/// the per-connection bulkhead every Vercel call passes, and the workers requests that may call
/// Vercel can take (all but `SHEEN_DATABASE_WORKERS`), so routes that read only the database
/// always find a worker.
public final class Serving: Sendable {
    public let bulkhead: VercelBulkhead
    /// Workers requests that may call Vercel can hold at once.
    public let vercelWorkers: Int
    private let busy = Mutex(0)

    public init(workers: Int, settings: IsolationSettings) {
        bulkhead = VercelBulkhead(limit: settings.callsPerConnection, wait: settings.busyWait)
        vercelWorkers = max(1, workers - settings.databaseWorkers)
    }

    /// Takes a worker place for a request that may call Vercel; false (at once, without waiting)
    /// when they are all taken.
    func enter() -> Bool {
        busy.withLock { count in
            guard count < vercelWorkers else { return false }
            count += 1
            return true
        }
    }

    func leave() {
        busy.withLock { $0 -= 1 }
    }
}
