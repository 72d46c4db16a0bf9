import FastCGI
import Glibc
import Kernel
import Logging
import Migrator
import Platform
import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
#endif

/// The `main` of a maintenance job that cron runs: reads its configuration, takes the job's advisory
/// lock so runs on several hosts (or an overlapping run) do the work once, does it, and exits:
/// 0 done or skipped because another run holds the lock, 1 failed, 78 misconfigured.
public enum OneShotJob {
    /// - Parameter slots: how many runs may work at once (hosts sharing rows they claim with
    ///   `FOR UPDATE SKIP LOCKED`); each holds one of the job's `slots` advisory locks, and a run
    ///   that finds them all held skips.
    public static func run(
        name: String, slots: Int = 1, work: (PostgresConnection, Logger) throws -> Logger.Metadata
    ) -> Never {
        run(name: name, slots: slots, settings: {}, work: { database, logger, _ in try work(database, logger) })
    }

    /// A job that needs more of the environment than its database: `settings` reads it before any
    /// work, so a misconfigured run exits 78 (not 1, as a failure of its work would).
    public static func run<Settings>(
        name: String, slots: Int = 1, settings read: () throws -> Settings,
        work: (PostgresConnection, Logger, Settings) throws -> Logger.Metadata
    ) -> Never {
        Release.answerVersion(program: name)
        let configuration: JobConfiguration
        let settings: Settings
        do {
            configuration = try JobConfiguration.fromEnvironment()
            settings = try read()
        } catch {
            JSONLogHandler.bootstrap(level: .info)
            Logger(label: name).critical("bad configuration", metadata: ["error.detail": "\(error)"])
            exit(78)
        }
        JSONLogHandler.bootstrap(level: configuration.logLevel)
        let logger = Logger(label: name)
        let database = PostgresConnection(
            .init(url: configuration.databaseURL, statementTimeout: .seconds(300), applicationName: name))
        // What the run writes and logs names it, unless a step names itself (a retried job).
        let trace = "\(name.dropFirst("vercel-".count))-\(UUID().uuidString.prefix(8).lowercased())"
        do {
            // Work on a schema older than this build's could write what the new code expects to
            // find elsewhere: refuse, misconfigured (the timer tries again next period).
            let verdict = try SchemaGate.check(database)
            guard verdict == .ready else {
                logger.critical("refusing to run: \(verdict)", metadata: ["release": "\(Release.version)"])
                exit(78)
            }
            let started = ContinuousClock.now
            var summary: Logger.Metadata?
            for slot in 0..<max(slots, 1) where summary == nil {
                let lock = slot == 0 ? "sheen.vercel.job.\(name)" : "sheen.vercel.job.\(name).\(slot)"
                summary = try database.withAdvisoryLockIfFree(lock) {
                    // When this run held the lock (epoch ms): runs of the job on every host can be
                    // told apart in their logs, and seen never to overlap beyond its slots.
                    let from = Self.epochMilliseconds()
                    var metadata = try Trace.$requestID.withValue(trace) { try work(database, logger, settings) }
                    metadata["lock.from_ms"] = .stringConvertible(from)
                    metadata["lock.until_ms"] = .stringConvertible(Self.epochMilliseconds())
                    metadata["lock.slot"] = .stringConvertible(slot)
                    return metadata
                }
            }
            guard let summary else {
                logger.info("skipped: another run holds the lock")
                record(name, outcome: .skipped, milliseconds: 0, database)
                exit(0)
            }
            var metadata = summary
            let milliseconds = (ContinuousClock.now - started).milliseconds
            metadata["duration.ms"] = .stringConvertible(milliseconds)
            metadata["request.id"] = "\(trace)"
            logger.info("done", metadata: metadata)
            record(name, outcome: .done, milliseconds: milliseconds, database)
            exit(0)
        } catch {
            logger.error("failed", metadata: ["error.detail": "\(error)", "request.id": "\(trace)"])
            record(name, outcome: .failed, milliseconds: 0, database)
            exit(1)
        }
    }

    enum Outcome { case done, failed, skipped }

    /// Counts the run in `vercel_job_stats`, and adds what it measured to `vercel_metric_totals`
    /// (what the host's /metrics reports); a failure to count is not the job's failure.
    static func record(_ name: String, outcome: Outcome, milliseconds: Int64, _ database: PostgresConnection) {
        let job = String(name.dropFirst("vercel-job-".count))
        _ = try? database.execute(
            """
            INSERT INTO vercel_job_stats (job, runs, failures, skipped, duration_ms_sum, last_duration_ms, last_run_at,
              last_success_at)
            VALUES (\(job), \(outcome == .skipped ? 0 : 1), \(outcome == .failed ? 1 : 0), \(outcome == .skipped ? 1 : 0),
              \(milliseconds), \(outcome == .done ? milliseconds : nil), now(), CASE WHEN \(outcome == .done) THEN now() END)
            ON CONFLICT (job) DO UPDATE SET runs = vercel_job_stats.runs + excluded.runs,
              failures = vercel_job_stats.failures + excluded.failures, skipped = vercel_job_stats.skipped + excluded.skipped,
              duration_ms_sum = vercel_job_stats.duration_ms_sum + excluded.duration_ms_sum,
              last_duration_ms = coalesce(excluded.last_duration_ms, vercel_job_stats.last_duration_ms),
              last_run_at = now(), last_success_at = coalesce(excluded.last_success_at, vercel_job_stats.last_success_at)
            """)
        do {
            try JobTotals.flush(.shared, database)
        } catch {
            Logger(label: name).warning("the run's metrics were not kept", metadata: ["error.detail": "\(error)"])
        }
    }

    /// The wall clock in milliseconds since 1970.
    static func epochMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}
