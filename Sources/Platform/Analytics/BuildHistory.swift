import Kernel
import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `GET …/optimization/history?limit=&cursor=`: each finished build's figures, newest first, from
/// the metrics rows `vercel-job-deployment-sync` writes (queue and build time, time to READY,
/// outcome, error, uploads). A page at a time through `vercel_build_metrics_project_idx`.
public enum BuildHistory {
    struct Entry: Encodable {
        let deploymentId: String
        let target: Nullable<String>
        let outcome: String
        let framework: Nullable<String>
        let createdAt: Nullable<String>
        let queueMs: Nullable<Int>
        let buildMs: Nullable<Int>
        /// Queue and build time together, for a build that became READY.
        let timeToReadyMs: Nullable<Int>
        let errorCode: Nullable<String>
        let errorStep: Nullable<String>
        let cacheHit: Nullable<Bool>
        let fileCount: Nullable<Int>
        let bytesUploaded: Nullable<Int64>
        let recordedAt: String
    }

    public struct Page: Encodable, Sendable {
        let history: [Entry]
        let pagination: Next

        struct Next: Encodable {
            let next: Nullable<String>
        }
    }

    /// Where a page starts: after the row with this `recorded_at` (microseconds) and id, written
    /// `<micros>_<id>` in the page before's `next`.
    public struct Cursor: Sendable, Equatable {
        let micros: Int64
        let id: Int64

        /// Nil for a text no page gave.
        public init?(_ text: String) {
            let parts = text.split(separator: "_").map(String.init)
            guard parts.count == 2, text.utf8.count <= 40, let micros = Int64(parts[0]), let id = Int64(parts[1]) else {
                return nil
            }
            self.micros = micros
            self.id = id
        }
    }

    /// The sizes a page may have.
    public static let limits = 1...100

    /// Up to `limit` of `project`'s builds, newest first, after `cursor`.
    static func page(_ project: UUID, limit: Int, after: Cursor?, _ database: PostgresConnection) throws -> Page {
        let rows = try database.query(
            """
            SELECT id, deployment_id, lower(deployment_type::text) AS target, outcome::text AS outcome, framework,
                   created_at, queue_ms, build_duration_ms, error_code, error_step, cache_hit, file_count, bytes_uploaded,
                   recorded_at, (extract(epoch FROM recorded_at) * 1000000)::bigint AS micros
            FROM vercel_build_metrics
            WHERE project_id = \(project)
              AND (\(after?.micros)::bigint IS NULL
                   OR (recorded_at, id) < (TIMESTAMPTZ 'epoch' + \(after?.micros)::bigint * INTERVAL '1 microsecond',
                                           \(after?.id)::bigint))
            ORDER BY recorded_at DESC, id DESC LIMIT \(limit + 1)
            """)
        let entries = try rows.prefix(limit).map { row -> Entry in
            let outcome: String = try row.decode("outcome")
            let queue: Int? = try row.decodeIfPresent("queue_ms")
            let build: Int? = try row.decodeIfPresent("build_duration_ms")
            return Entry(
                deploymentId: try row.decode("deployment_id"), target: Nullable(try row.decodeIfPresent("target")),
                outcome: outcome, framework: Nullable(try row.decodeIfPresent("framework")),
                createdAt: Nullable(try row.decodeIfPresent("created_at", as: Date.self).map { ISO8601.format($0) }),
                queueMs: Nullable(queue), buildMs: Nullable(build),
                timeToReadyMs: Nullable(outcome == "READY" ? queue.flatMap { q in build.map { q + $0 } } : nil),
                errorCode: Nullable(try row.decodeIfPresent("error_code")),
                errorStep: Nullable(try row.decodeIfPresent("error_step")),
                cacheHit: Nullable(try row.decodeIfPresent("cache_hit")),
                fileCount: Nullable(try row.decodeIfPresent("file_count")),
                bytesUploaded: Nullable(try row.decodeIfPresent("bytes_uploaded")),
                recordedAt: ISO8601.format(try row.decode("recorded_at", as: Date.self)))
        }
        var next: String?
        if rows.count > limit, let last = rows.prefix(limit).last {
            next = "\(try last.decode("micros", as: Int64.self))_\(try last.decode("id", as: Int64.self))"
        }
        return Page(history: entries, pagination: .init(next: Nullable(next)))
    }
}
