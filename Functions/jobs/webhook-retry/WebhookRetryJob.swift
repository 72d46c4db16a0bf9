import Foundation
import Kernel
import Platform
import PlatformHost
import Postgres

// vercel-job-webhook-retry (every minute): applies the webhook events that could not be applied
// when they came (their project was not linked yet). Jobs are claimed with FOR UPDATE SKIP LOCKED,
// so runs on several hosts share the queue; each failure backs off; after max_attempts an event
// is dead, left for operators with its last error.
enum WebhookRetryJob {
    static func main() -> Never {
        OneShotJob.run(
            name: "vercel-job-webhook-retry", settings: { try ServiceConfiguration.fromEnvironment() },
            work: {
                database, logger, configuration in
                let processor = WebhookProcessor(database: database, keyRing: configuration.keyRing, logger: logger)
                // Jobs whose runner died mid-way go back to the queue.
                try database.execute(
                    "UPDATE vercel_jobs SET status = 'pending', locked_until = NULL WHERE kind = 'webhook.apply' AND status = 'running' AND locked_until < now()"
                )
                let claimed = try database.query(
                    """
                    UPDATE vercel_jobs SET status = 'running', locked_until = now() + interval '5 minutes', attempts = attempts + 1, updated_at = now()
                    WHERE id IN (
                      SELECT id FROM vercel_jobs WHERE kind = 'webhook.apply' AND status = 'pending' AND run_after <= now()
                      ORDER BY run_after LIMIT 200 FOR UPDATE SKIP LOCKED)
                    RETURNING id, payload->>'body' AS body, attempts, max_attempts, correlation_id
                    """)
                var applied = 0
                var waiting = 0
                var dead = 0
                for job in claimed {
                    let id: Int64 = try job.decode("id")
                    let attempts: Int = try job.decode("attempts")
                    let maxAttempts: Int = try job.decode("max_attempts")
                    var failure: String?
                    do {
                        // The event's rows keep the id of the request that received it.
                        let applied = try Trace.$requestID.withValue(job["correlation_id"] ?? "retry-\(id)") {
                            try processor.applyQueued(Array((job["body"] ?? "").utf8))
                        }
                        if applied == .queued {
                            failure = "the event's project is not linked yet"
                        }
                    } catch {
                        failure = "\(error)"
                    }
                    guard let failure else {
                        try database.execute(
                            "UPDATE vercel_jobs SET status = 'done', locked_until = NULL, last_error = NULL, updated_at = now() WHERE id = \(id)"
                        )
                        applied += 1
                        continue
                    }
                    if attempts >= maxAttempts {
                        try database.execute(
                            "UPDATE vercel_jobs SET status = 'dead', locked_until = NULL, last_error = \(failure), updated_at = now() WHERE id = \(id)"
                        )
                        dead += 1
                    } else {
                        let backoff = min(3600, 30 << min(attempts, 7))
                        try database.execute(
                            """
                            UPDATE vercel_jobs SET status = 'pending', locked_until = NULL, last_error = \(failure),
                              run_after = now() + make_interval(secs => \(backoff)), updated_at = now()
                            WHERE id = \(id)
                            """)
                        waiting += 1
                    }
                }
                return [
                    "events.claimed": .stringConvertible(claimed.count), "events.applied": .stringConvertible(applied),
                    "events.waiting": .stringConvertible(waiting),
                    "events.dead": .stringConvertible(dead),
                ]
            })
    }
}
