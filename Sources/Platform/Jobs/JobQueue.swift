import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One kind of work in `vercel_jobs`, as the one-shot jobs take it: claimed with
/// `FOR UPDATE SKIP LOCKED` (runs on several hosts share it), done, or put back with a wait that
/// doubles with each attempt until the attempts are spent and it is dead, for operators to retry.
public struct JobQueue {
    public let kind: String
    let database: PostgresConnection

    public init(kind: String, database: PostgresConnection) {
        self.kind = kind
        self.database = database
    }

    /// A job claimed for this run.
    public struct Claimed: Sendable {
        public let id: Int64
        /// The job's payload, as JSON text.
        public let payload: String
        public let attempt: Int
    }

    /// Claims up to `limit` due jobs, first putting back those a run that died left claimed.
    public func claim(limit: Int) throws -> [Claimed] {
        try database.execute(
            """
            UPDATE vercel_jobs SET status = 'pending', locked_until = NULL, updated_at = now()
            WHERE kind = \(kind) AND status = 'running' AND locked_until < now()
            """)
        return try database.query(
            """
            UPDATE vercel_jobs SET status = 'running', attempts = attempts + 1, locked_until = now() + interval '2 minutes',
              updated_at = now()
            WHERE id IN (
              SELECT id FROM vercel_jobs WHERE kind = \(kind) AND status = 'pending' AND run_after <= now()
              ORDER BY run_after LIMIT \(limit) FOR UPDATE SKIP LOCKED)
            RETURNING id, payload::text AS payload, attempts
            """
        ).map {
            Claimed(id: try $0.decode("id"), payload: try $0.decode("payload"), attempt: try $0.decode("attempts"))
        }
    }

    public func done(_ job: Claimed) throws {
        try database.execute(
            "UPDATE vercel_jobs SET status = 'done', locked_until = NULL, last_error = NULL, updated_at = now() WHERE id = \(job.id)"
        )
    }

    /// Done, unless its payload's `version` changed while it ran (more work came for it): then it
    /// goes back to the queue at once, its attempts counted afresh.
    public func done(_ job: Claimed, version: Int64) throws {
        try database.execute(
            """
            UPDATE vercel_jobs SET
              status = CASE WHEN payload->>'version' = \("\(version)") THEN 'done'::vercel_job_status ELSE 'pending'::vercel_job_status END,
              attempts = CASE WHEN payload->>'version' = \("\(version)") THEN attempts ELSE 0 END,
              run_after = now(), locked_until = NULL, last_error = NULL, updated_at = now()
            WHERE id = \(job.id)
            """)
    }

    /// Marks a job dead at once: no retry can help (operators can retry it).
    public func dead(_ job: Claimed, reason: String) throws {
        try database.execute(
            """
            UPDATE vercel_jobs SET status = 'dead', locked_until = NULL, last_error = \(String(reason.prefix(500))), updated_at = now()
            WHERE id = \(job.id)
            """)
    }

    /// Puts a failed job back after `after` seconds when given (a rate limit's reset), else after
    /// 30 s doubling to an hour, or marks it dead once its attempts are spent.
    public func failed(_ job: Claimed, reason: String, after: Int? = nil) throws {
        let wait = after ?? min(3600, 30 << min(max(job.attempt - 1, 0), 10))
        try database.execute(
            """
            UPDATE vercel_jobs SET
              status = CASE WHEN attempts >= max_attempts THEN 'dead'::vercel_job_status ELSE 'pending'::vercel_job_status END,
              run_after = now() + make_interval(secs => \(wait)), locked_until = NULL, last_error = \(String(reason.prefix(500))),
              updated_at = now()
            WHERE id = \(job.id)
            """)
    }
}
