import Platform
import PlatformHost

// vercel-job-webhook-cleanup (daily): forgets Vercel's webhook deliveries older than 7 days (Vercel
// stops retrying a delivery after 24 hours, so older ones cannot come back as duplicates), and the
// git deliveries' decisions older than 90 days (the events a project's owner can page through),
// and the runtime errors older than a day (the summary looks back a day at most).
// The job's advisory lock makes an overlapping run skip.
enum WebhookCleanupJob {
    static func main() -> Never {
        OneShotJob.run(name: "vercel-job-webhook-cleanup") { database, _ in
            var removed = 0
            // In batches, so a large backlog never holds one long transaction.
            while true {
                let batch = try database.execute(
                    """
                    DELETE FROM vercel_webhook_dedup WHERE id IN (
                      SELECT id FROM vercel_webhook_dedup WHERE processed_at < now() - interval '7 days' LIMIT 5000)
                    """)
                removed += batch
                if batch < 5000 { break }
            }
            var gitRemoved = 0
            while true {
                let batch = try database.execute(
                    """
                    DELETE FROM vercel_git_deliveries WHERE id IN (
                      SELECT id FROM vercel_git_deliveries WHERE received_at < now() - interval '90 days' LIMIT 5000)
                    """)
                gitRemoved += batch
                if batch < 5000 { break }
            }
            var errorsRemoved = 0
            while true {
                let batch = try database.execute(
                    """
                    DELETE FROM vercel_runtime_errors WHERE id IN (
                      SELECT id FROM vercel_runtime_errors WHERE created_at < now() - interval '1 day' LIMIT 5000)
                    """)
                errorsRemoved += batch
                if batch < 5000 { break }
            }
            return [
                "deliveries.removed": .stringConvertible(removed),
                "git_deliveries.removed": .stringConvertible(gitRemoved),
                "runtime_errors.removed": .stringConvertible(errorsRemoved),
            ]
        }
    }
}
