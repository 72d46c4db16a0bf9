import FastCGI
import Logging
import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
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
        let configuration: JobConfiguration
        do {
            configuration = try JobConfiguration.fromEnvironment()
        } catch {
            JSONLogHandler.bootstrap(level: .info)
            Logger(label: name).critical("bad configuration", metadata: ["error.detail": "\(error)"])
            exit(78)
        }
        JSONLogHandler.bootstrap(level: configuration.logLevel)
        let logger = Logger(label: name)
        let database = PostgresConnection(
            .init(url: configuration.databaseURL, statementTimeout: .seconds(300), applicationName: name))
        do {
            let started = ContinuousClock.now
            var summary: Logger.Metadata?
            for slot in 0..<max(slots, 1) where summary == nil {
                let lock = slot == 0 ? "sheen.vercel.job.\(name)" : "sheen.vercel.job.\(name).\(slot)"
                summary = try database.withAdvisoryLockIfFree(lock) { try work(database, logger) }
            }
            guard let summary else {
                logger.info("skipped: another run holds the lock")
                exit(0)
            }
            var metadata = summary
            metadata["duration.ms"] = "\((ContinuousClock.now - started).milliseconds)"
            logger.info("done", metadata: metadata)
            exit(0)
        } catch {
            logger.error("failed", metadata: ["error.detail": "\(error)"])
            exit(1)
        }
    }
}
