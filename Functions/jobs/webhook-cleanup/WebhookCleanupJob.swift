import Platform
import PlatformHost
import Postgres

// vercel-job-webhook-cleanup (daily): forgets Vercel's webhook deliveries older than 7 days (Vercel
// stops retrying a delivery after 24 hours, so older ones cannot come back as duplicates), and the
// git deliveries' decisions older than 90 days (the events a project's owner can page through),
// and the runtime errors older than a day (the summary looks back a day at most), and the build log
// pumps' leases that ended more than a day ago.
// The job's advisory lock makes an overlapping run skip.
enum WebhookCleanupJob {
    static func main() -> Never {
        OneShotJob.run(name: "vercel-job-webhook-cleanup") { database, _ in
            /// Deletes the rows of `table` whose `column` is older than `age`, in batches, so a large
            /// backlog never holds one long transaction; how many.
            func forget(_ table: SQL, olderThan age: String, by column: SQL) throws -> Int {
                var removed = 0
                while true {
                    let batch = try database.execute(
                        """
                        DELETE FROM \(fragment: table) WHERE id IN (
                          SELECT id FROM \(fragment: table) WHERE \(fragment: column) < now() - \(age)::interval LIMIT 5000)
                        """)
                    removed += batch
                    if batch < 5000 { return removed }
                }
            }
            return [
                "deliveries.removed": .stringConvertible(
                    try forget("vercel_webhook_dedup", olderThan: "7 days", by: "processed_at")),
                "git_deliveries.removed": .stringConvertible(
                    try forget("vercel_git_deliveries", olderThan: "90 days", by: "received_at")),
                "runtime_errors.removed": .stringConvertible(
                    try forget("vercel_runtime_errors", olderThan: "1 day", by: "created_at")),
                "log_pump_leases.removed": .stringConvertible(try LogPumpLeaseStore(database: database).forgetEnded()),
            ]
        }
    }
}
