import FastCGI
import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Alerts for the platform, waiting in `vercel_jobs` (kind `alert`) for `vercel-job-alerts`. Each
/// keeps its delivery id and its exact body from the start, so every retry sends the same message
/// (Standard Webhooks: the same `webhook-id` across retries). Bodies never hold a secret.
public struct AlertOutbox {
    public static let kind = "alert"

    let database: PostgresConnection

    public init(database: PostgresConnection) {
        self.database = database
    }

    public enum Severity: String, Sendable {
        case info
        case warning
        case critical
    }

    /// Queues an alert; with `dedupKey`, not again while one with that key waits.
    public func enqueue<Data: Encodable>(
        _ type: String, severity: Severity, userID: UUID? = nil, projectID: UUID? = nil, data: Data,
        dedupKey: String? = nil,
        correlationID: String
    ) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let body = String(
            decoding: try encoder.encode(
                AlertBody(
                    type: type, occurredAt: ISO8601.format(Date()), userId: userID?.uuidString.lowercased(),
                    projectId: projectID?.uuidString.lowercased(), severity: severity.rawValue, data: data)),
            as: UTF8.self)
        try database.execute(
            """
            INSERT INTO vercel_jobs (kind, payload, dedup_key, correlation_id)
            VALUES (\(Self.kind), jsonb_build_object('id', \("msg_" + UUID().uuidString.lowercased())::text, 'type', \(type)::text,
              'body', \(body)::text), \(dedupKey), \(correlationID))
            ON CONFLICT DO NOTHING
            """)
    }

    /// An alert claimed for delivery.
    public struct Delivery: Sendable {
        public let jobID: Int64
        public let messageID: String
        public let body: [UInt8]
        public let attempt: Int
        public let maxAttempts: Int
    }

    /// Claims up to `limit` due alerts for this run (`FOR UPDATE SKIP LOCKED`, so runs on several
    /// hosts share them), first putting back those a run that died left claimed.
    public func claim(limit: Int) throws -> [Delivery] {
        try database.execute(
            """
            UPDATE vercel_jobs SET status = 'pending', locked_until = NULL, updated_at = now()
            WHERE kind = \(Self.kind) AND status = 'running' AND locked_until < now()
            """)
        return try database.query(
            """
            UPDATE vercel_jobs SET status = 'running', attempts = attempts + 1, locked_until = now() + interval '2 minutes',
              updated_at = now()
            WHERE id IN (
              SELECT id FROM vercel_jobs WHERE kind = \(Self.kind) AND status = 'pending' AND run_after <= now()
              ORDER BY run_after LIMIT \(limit) FOR UPDATE SKIP LOCKED)
            RETURNING id, payload->>'id' AS message_id, payload->>'body' AS body, attempts, max_attempts
            """
        ).map { row in
            Delivery(
                jobID: try row.decode("id"), messageID: try row.decode("message_id"),
                body: Array((try row.decode("body", as: String.self)).utf8),
                attempt: try row.decode("attempts"), maxAttempts: try row.decode("max_attempts"))
        }
    }

    public func delivered(_ delivery: Delivery) throws {
        try database.execute(
            "UPDATE vercel_jobs SET status = 'done', locked_until = NULL, last_error = NULL, updated_at = now() WHERE id = \(delivery.jobID)"
        )
    }

    /// Puts a failed delivery back with a wait that doubles with each attempt (30 s to an hour), or
    /// marks it dead once its attempts are spent; dead ones wait for an operator's retry.
    public func failed(_ delivery: Delivery, reason: String) throws {
        let wait = min(3600, 30 << min(delivery.attempt - 1, 10))
        try database.execute(
            """
            UPDATE vercel_jobs SET
              status = CASE WHEN attempts >= max_attempts THEN 'dead'::vercel_job_status ELSE 'pending'::vercel_job_status END,
              run_after = now() + make_interval(secs => \(wait)), locked_until = NULL, last_error = \(String(reason.prefix(500))),
              updated_at = now()
            WHERE id = \(delivery.jobID)
            """)
    }
}

/// What the platform receives: `{type, occurredAt, userId?, projectId?, severity, data}`.
private struct AlertBody<D: Encodable>: Encodable {
    let type: String
    let occurredAt: String
    let userId: String?
    let projectId: String?
    let severity: String
    let data: D
}
