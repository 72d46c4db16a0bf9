#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Logging
import Postgres

/// What a worker thread owns and lends to every request it serves: its database connection and
/// the group's configuration. Never shared between threads.
public final class RequestContext {
    public let group: String
    public let configuration: ServiceConfiguration
    public let database: PostgresConnection
    public let logger: Logger

    public init(group: String, configuration: ServiceConfiguration, logger: Logger) {
        self.group = group
        self.configuration = configuration
        self.logger = logger
        database = PostgresConnection(
            .init(
                url: configuration.databaseURL, statementTimeout: configuration.statementTimeout,
                applicationName: "sheen-vercel-\(group)"))
    }
}
