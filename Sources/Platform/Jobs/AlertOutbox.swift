import Kernel
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
        dedupKey: String? = nil
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
              'body', \(body)::text), \(dedupKey), \(Trace.requestID))
            ON CONFLICT DO NOTHING
            """)
    }

    /// An alert claimed for delivery.
    public struct Delivery: Sendable {
        let job: JobQueue.Claimed
        public let messageID: String
        public let body: [UInt8]
        public var attempt: Int { job.attempt }
    }

    var queue: JobQueue { JobQueue(kind: Self.kind, database: database) }

    /// Claims up to `limit` due alerts for this run (`FOR UPDATE SKIP LOCKED`, so runs on several
    /// hosts share them).
    public func claim(limit: Int) throws -> [Delivery] {
        struct Payload: Decodable {
            let id: String
            let body: String
        }
        return try queue.claim(limit: limit).map { job in
            let payload = try JSONDecoder().decode(Payload.self, from: Data(job.payload.utf8))
            return Delivery(job: job, messageID: payload.id, body: Array(payload.body.utf8))
        }
    }

    public func delivered(_ delivery: Delivery) throws {
        try queue.done(delivery.job)
    }

    /// Puts a failed delivery back with a wait that doubles with each attempt (30 s to an hour), or
    /// marks it dead once its attempts are spent; dead ones wait for an operator's retry.
    public func failed(_ delivery: Delivery, reason: String) throws {
        try queue.failed(delivery.job, reason: reason)
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
