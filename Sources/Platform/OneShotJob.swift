#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import FastCGI
import Logging
import Postgres

/// The `main` of a maintenance job that cron runs: reads `DATABASE_URL`, takes the job's advisory
/// lock so runs on several hosts (or an overlapping run) do the work once, does it, and exits:
/// 0 done or skipped because another run holds the lock, 1 failed, 78 misconfigured.
public enum OneShotJob {
    public static func run(
        name: String, work: (PostgresConnection, Logger) throws -> Logger.Metadata
    ) -> Never {
        JSONLogHandler.bootstrap()
        let logger = Logger(label: name)
        guard let url = ProcessInfo.processInfo.environment["DATABASE_URL"], !url.isEmpty else {
            logger.critical("bad configuration", metadata: ["error.detail": "DATABASE_URL is not set"])
            exit(78)
        }
        let database = PostgresConnection(.init(url: url, statementTimeout: .seconds(300), applicationName: name))
        do {
            let started = ContinuousClock.now
            guard let summary = try database.withAdvisoryLockIfFree("sheen.vercel.job.\(name)", { try work(database, logger) }) else {
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
