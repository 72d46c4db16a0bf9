import FastCGI
@_spi(Host) import Platform
import Postgres
import Vercel

extension Router where Context == WorkerServices {
    /// `GET /metrics`: this process's Prometheus metrics (requests and their durations by route
    /// template and status, webhook outcomes) and what the database says when they are read (the
    /// outbox's depth and oldest age, breakers open, job runs). nginx serves it only on its internal
    /// listener, never on the public one.
    mutating func addMetricsRoute() {
        add("GET", "/metrics", reach: .local) { _, context in
            var families = [
                Metrics.Family(
                    name: "sheen_vercel_up", type: "gauge", help: "1 while the function answers", samples: [([], 1)]),
                Metrics.Family(
                    name: "sheen_vercel_items_skipped_total", type: "counter",
                    help: "Items of Vercel's lists this process could not read and skipped, by kind",
                    samples: VercelDecoding.skippedItems.sorted { $0.key < $1.key }.map {
                        ([("kind", $0.key)], Double($0.value))
                    }),
            ]
            do {
                families += try MetricsQueries.read(context.database)
                families.append(
                    .init(
                        name: "sheen_vercel_database_up", type: "gauge",
                        help: "1 when the database answered the metrics' queries", samples: [([], 1)]))
            } catch {
                families.append(
                    .init(
                        name: "sheen_vercel_database_up", type: "gauge",
                        help: "1 when the database answered the metrics' queries", samples: [([], 0)]))
            }
            return Response(
                status: 200, headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")],
                body: .bytes(Array(Metrics.shared.render(families: families).utf8)))
        }
    }
}

/// The figures /metrics reads from the database, each a few index-backed aggregates.
enum MetricsQueries {
    static func read(_ database: PostgresConnection) throws -> [Metrics.Family] {
        var depth: [(Metrics.Labels, Double)] = []
        var oldest: [(Metrics.Labels, Double)] = []
        for row in try database.query(
            """
            SELECT kind, status::text AS status, count(*) AS n,
                   coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS age
            FROM vercel_jobs WHERE status IN ('pending', 'running', 'dead') GROUP BY kind, status ORDER BY kind, status
            """)
        {
            let kind: String = try row.decode("kind")
            let status: String = try row.decode("status")
            depth.append(([("kind", kind), ("status", status)], Double(try row.decode("n", as: Int.self))))
            if status == "pending" { oldest.append(([("kind", kind)], try row.decode("age", as: Double.self))) }
        }
        let breakers = try database.query(
            """
            SELECT count(*) FILTER (WHERE circuit_breaker_state->>'is_open' = 'true') AS open,
                   count(*) FILTER (WHERE circuit_breaker_state->>'is_open' IS DISTINCT FROM 'true') AS closed
            FROM vercel_connections WHERE status IN ('connected', 'error')
            """)[0]
        var runs: [(Metrics.Labels, Double)] = []
        var durations: [(Metrics.Labels, Double)] = []
        var lastRun: [(Metrics.Labels, Double)] = []
        for row in try database.query(
            """
            SELECT job, runs, failures, skipped, duration_ms_sum, coalesce(last_duration_ms, 0) AS last_ms,
                   coalesce(extract(epoch FROM last_run_at), 0)::float8 AS last_at
            FROM vercel_job_stats ORDER BY job
            """)
        {
            let job: String = try row.decode("job")
            let total: Int64 = try row.decode("runs")
            let failures: Int64 = try row.decode("failures")
            runs.append(([("job", job), ("outcome", "done")], Double(total - failures)))
            runs.append(([("job", job), ("outcome", "failed")], Double(failures)))
            runs.append(([("job", job), ("outcome", "skipped")], Double(try row.decode("skipped", as: Int64.self))))
            durations.append(([("job", job)], Double(try row.decode("last_ms", as: Int64.self)) / 1000))
            lastRun.append(([("job", job)], try row.decode("last_at", as: Double.self)))
        }
        return [
            .init(
                name: "sheen_vercel_outbox_jobs", type: "gauge",
                help: "Work waiting in vercel_jobs, by kind and status", samples: depth),
            .init(
                name: "sheen_vercel_outbox_oldest_age_seconds", type: "gauge",
                help: "Age of the oldest pending work, by kind", samples: oldest),
            .init(
                name: "sheen_vercel_circuit_breakers", type: "gauge",
                help: "Connections whose Vercel breaker is open or closed",
                samples: [
                    ([("state", "open")], Double(try breakers.decode("open", as: Int.self))),
                    ([("state", "closed")], Double(try breakers.decode("closed", as: Int.self))),
                ]),
            .init(
                name: "sheen_vercel_job_runs_total", type: "counter", help: "Runs of each maintenance job, by outcome",
                samples: runs),
            .init(
                name: "sheen_vercel_job_last_duration_seconds", type: "gauge",
                help: "How long each job's last completed run took", samples: durations),
            .init(
                name: "sheen_vercel_job_last_run_timestamp_seconds", type: "gauge",
                help: "When each job last ran (Unix time)", samples: lastRun),
        ]
    }
}
