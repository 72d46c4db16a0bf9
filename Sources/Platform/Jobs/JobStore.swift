import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The work queue (`vercel_jobs`) as operators see it: webhook events waiting to be applied,
/// alerts waiting to be delivered; the dead ones, and putting one back.
public struct JobStore {
    let database: PostgresConnection

    public init(database: PostgresConnection) {
        self.database = database
    }

    public enum Status: String, CaseIterable, Sendable {
        case pending
        case running
        case done
        case dead
    }

    /// A job without its payload (which may carry a whole event).
    public struct Summary: Encodable, Sendable {
        public let id: Int64
        public let kind: String
        /// For an alert, its type.
        public let type: String?
        public let status: String
        public let attempts: Int
        public let maxAttempts: Int
        public let lastError: String?
        public let runAfter: Date
        public let createdAt: Date
        public let updatedAt: Date

        public func encode(to encoder: any Encoder) throws {
            enum Keys: String, CodingKey {
                case id, kind, type, status, attempts, maxAttempts, lastError, runAfter, createdAt, updatedAt
            }
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(String(id), forKey: .id)
            try container.encode(kind, forKey: .kind)
            try container.encode(type, forKey: .type)
            try container.encode(status, forKey: .status)
            try container.encode(attempts, forKey: .attempts)
            try container.encode(maxAttempts, forKey: .maxAttempts)
            try container.encode(lastError, forKey: .lastError)
            try container.encode(runAfter, forKey: .runAfter)
            try container.encode(createdAt, forKey: .createdAt)
            try container.encode(updatedAt, forKey: .updatedAt)
        }
    }

    /// The newest `limit` jobs in `status`.
    public func list(_ status: Status, limit: Int) throws -> [Summary] {
        try database.query(
            """
            SELECT id, kind, CASE WHEN kind = 'alert' THEN payload->>'type' END AS type, status::text AS status, attempts,
                   max_attempts, last_error, run_after, created_at, updated_at
            FROM vercel_jobs WHERE status = \(status.rawValue)::vercel_job_status
            ORDER BY updated_at DESC, id DESC LIMIT \(limit)
            """
        ).map { row in
            Summary(
                id: try row.decode("id"), kind: try row.decode("kind"), type: row["type"],
                status: try row.decode("status"),
                attempts: try row.decode("attempts"), maxAttempts: try row.decode("max_attempts"),
                lastError: row["last_error"],
                runAfter: try row.decode("run_after"), createdAt: try row.decode("created_at"),
                updatedAt: try row.decode("updated_at"))
        }
    }

    public enum RetryOutcome: Sendable, Equatable {
        case queued
        case notFound
        /// Only dead jobs are put back: the others are still being tried.
        case notDead(String)
    }

    /// A stored webhook event (a `webhook.apply` job) that has finished (done or dead), for a replay.
    public enum StoredWebhook: Sendable, Equatable {
        case found(body: [UInt8])
        case notFound
        case notWebhook(kind: String)
        case unfinished(status: String)
    }

    public func storedWebhook(_ id: Int64) throws -> StoredWebhook {
        guard
            let row = try database.query(
                "SELECT kind, status::text AS status, payload->>'body' AS body FROM vercel_jobs WHERE id = \(id)"
            ).first
        else { return .notFound }
        let kind: String = try row.decode("kind")
        guard kind == "webhook.apply" else { return .notWebhook(kind: kind) }
        let status: String = try row.decode("status")
        guard status == "done" || status == "dead" else { return .unfinished(status: status) }
        return .found(body: Array((row["body"] ?? "").utf8))
    }

    /// Puts a dead job back in the queue with its attempts reset, due now.
    public func retry(_ id: Int64) throws -> RetryOutcome {
        let rows = try database.query(
            """
            WITH job AS (SELECT id, status FROM vercel_jobs WHERE id = \(id) FOR UPDATE),
            retried AS (
              UPDATE vercel_jobs SET status = 'pending', attempts = 0, run_after = now(), locked_until = NULL, updated_at = now()
              WHERE id IN (SELECT id FROM job WHERE status = 'dead') RETURNING id)
            SELECT job.status::text AS status, retried.id IS NOT NULL AS retried FROM job LEFT JOIN retried ON true
            """)
        guard let row = rows.first else { return .notFound }
        return try row.decode("retried", as: Bool.self) ? .queued : .notDead(try row.decode("status"))
    }
}
