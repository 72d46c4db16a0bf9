import FastCGI
import Kernel
@_spi(Host) import Platform
import Postgres
import Vercel

extension Router where Context == WorkerServices {
    /// `GET /metrics`: what this process recorded (requests by route template, webhook outcomes,
    /// outbound calls, the upstream queue) and its `process_*` figures; it asks the database
    /// nothing. `GET /metrics/host`: what is the same for every function of the host, once (nginx
    /// sends it to the first group that answers): the database's figures (the outbox, breakers, job
    /// runs and schedules, the audit checkpoint's age), what the one-shot jobs counted
    /// (`group="jobs"`), and the requests nginx refused itself. nginx serves both on its loopback
    /// listener only, never on the public one.
    mutating func addMetricsRoute() {
        add("GET", "/metrics", reach: .local) { _, _ in
            let readings = [Metrics.Reading(.up, [([], 1)])] + ProcessMetrics.readings()
            return Self.exposition(
                Metrics.shared.render(readings, declaring: MetricFamily.catalog.filter { $0.scope != .host }))
        }
        add("GET", "/metrics/host", reach: .local) { _, context in
            var readings: [Metrics.Reading]
            do {
                readings = try HostMetrics.read(context.database) + [.init(.databaseUp, [([], 1)])]
            } catch {
                readings = [.init(.databaseUp, [([], 0)])]
            }
            if let refusals = RefusalLog.shared.counts(path: context.configuration.refusalLog) {
                readings.append(
                    .init(.nginxRefusals, refusals.sorted { $0.key < $1.key }.map { (["\($0.key)"], Double($0.value)) })
                )
            }
            // Nothing of this process's own: these series name no group (but the jobs', which say so).
            return Self.exposition(
                Metrics().render(
                    readings, readingLabels: [:], declaring: MetricFamily.catalog.filter { $0.scope != .process }))
        }
    }

    private static func exposition(_ text: String) -> Response {
        Response(
            status: 200, headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")],
            body: .bytes(Array(text.utf8)))
    }
}

/// The figures `/metrics/host` reads from the database, each a few index-backed aggregates.
enum HostMetrics {
    static func read(_ database: PostgresConnection) throws -> [Metrics.Reading] {
        var depth: [([String], Double)] = []
        var oldest: [([String], Double)] = []
        for row in try database.query(
            """
            SELECT kind, status::text AS status, count(*) AS n,
                   coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS age
            FROM vercel_jobs WHERE status IN ('pending', 'running', 'dead') GROUP BY kind, status ORDER BY kind, status
            """)
        {
            let kind: String = try row.decode("kind")
            let status: String = try row.decode("status")
            depth.append(([kind, status], Double(try row.decode("n", as: Int.self))))
            if status == "pending" { oldest.append(([kind], try row.decode("age", as: Double.self))) }
        }
        let breakers = try database.query(
            """
            SELECT count(*) FILTER (WHERE circuit_breaker_state->>'is_open' = 'true') AS open,
                   count(*) FILTER (WHERE circuit_breaker_state->>'is_open' IS DISTINCT FROM 'true') AS closed
            FROM vercel_connections WHERE status IN ('connected', 'error')
            """)[0]
        var runs: [([String], Double)] = []
        var durations: [([String], Double)] = []
        var lastRun: [([String], Double)] = []
        var lastSuccess: [String: Double] = [:]
        for row in try database.query(
            """
            SELECT job, runs, failures, skipped, coalesce(last_duration_ms, 0) AS last_ms,
                   coalesce(extract(epoch FROM last_run_at), 0)::float8 AS last_at,
                   coalesce(extract(epoch FROM last_success_at), 0)::float8 AS success_at
            FROM vercel_job_stats ORDER BY job
            """)
        {
            let job: String = try row.decode("job")
            let total: Int64 = try row.decode("runs")
            let failures: Int64 = try row.decode("failures")
            runs.append(([job, "done"], Double(total - failures)))
            runs.append(([job, "failed"], Double(failures)))
            runs.append(([job, "skipped"], Double(try row.decode("skipped", as: Int64.self))))
            durations.append(([job], Double(try row.decode("last_ms", as: Int64.self)) / 1000))
            lastRun.append(([job], try row.decode("last_at", as: Double.self)))
            lastSuccess[job] = try row.decode("success_at", as: Double.self)
        }
        // A job that never succeeded counts from the install (when the schema was first made).
        let installed = try database.query(
            """
            SELECT extract(epoch FROM coalesce((SELECT min(applied_at) FROM vercel_schema_migrations), now()))::float8 AS at,
                   extract(epoch FROM now())::float8 AS now
            """)[0]
        let installedAt: Double = try installed.decode("at")
        let now: Double = try installed.decode("now")
        return [
            .init(.outboxJobs, depth),
            .init(.outboxOldest, oldest),
            .init(
                .circuitBreakers,
                [
                    (["open"], Double(try breakers.decode("open", as: Int.self))),
                    (["closed"], Double(try breakers.decode("closed", as: Int.self))),
                ]),
            .init(.jobRuns, runs),
            .init(.jobLastDuration, durations),
            .init(.jobLastRun, lastRun),
            // Every scheduled job, so one that never ran shows as never having succeeded.
            .init(
                .jobLastSuccess,
                JobSchedule.periods.map {
                    ([$0.job], (lastSuccess[$0.job] ?? 0) > 0 ? lastSuccess[$0.job]! : installedAt)
                }),
            .init(.jobPeriod, JobSchedule.periods.map { ([$0.job], Double($0.seconds)) }),
            .init(
                .auditCheckpointAge,
                [
                    (
                        [],
                        now
                            - ((lastSuccess["audit-checkpoint"] ?? 0) > 0
                                ? lastSuccess["audit-checkpoint"]! : installedAt)
                    )
                ]),
        ] + (try JobTotals.readings(database))
    }
}
