import FastCGI
import Kernel
import Logging
import Platform
import Postgres
import Vercel

/// One endpoint group: its name and its routes. Each group's library defines one; its executable
/// serves it (`GroupServer.run`) and its tests call it in process (`application`).
public struct FunctionGroup: Sendable {
    public let name: String
    private let routes: @Sendable (inout Router<WorkerServices>) -> Void

    public init(name: String, routes: @escaping @Sendable (inout Router<WorkerServices>) -> Void) {
        self.name = name
        self.routes = routes
    }

    /// The group's routes with its health route (and the fault routes, when enabled).
    public func router(faultRoutes: Bool = false) -> Router<WorkerServices> {
        var router = Router<WorkerServices>()
        router.addHealthRoutes(group: name, faultRoutes: faultRoutes)
        router.addMetricsRoute()
        routes(&router)
        return router
    }

    /// What one worker thread runs: the routes over a context of its own.
    /// - Parameters:
    ///   - makeTransport: how Vercel is reached; tests pass a scripted one.
    ///   - bulkhead: the process's limit on each connection's Vercel calls, shared by its workers.
    ///   - reachesVercel: false for a worker that serves only `Reach.local` routes: its clients
    ///     trap on any call (see `LocalOnlyTransport`).
    public func application(
        configuration: ServiceConfiguration, logger: Logger,
        makeTransport: @escaping @Sendable () -> any HTTPTransport = { CurlTransport() },
        bulkhead: VercelBulkhead? = nil, reachesVercel: Bool = true
    ) -> (HTTPApplication<WorkerServices>, WorkerServices) {
        Metrics.shared.setConstantLabel("group", name)
        let context = WorkerServices(
            group: name, configuration: configuration, logger: logger, makeTransport: makeTransport, bulkhead: bulkhead,
            reachesVercel: reachesVercel)
        let application = HTTPApplication(
            router: router(faultRoutes: configuration.faultRoutesEnabled), context: context, logger: logger,
            classify: Self.classify, tenantKeys: ["projectId", "userId"],
            budget: .init(limit: configuration.isolation.requestBudget) { context, deadline in
                context.serve(until: deadline)
            })
        return (application, context)
    }

    /// Errors with a meaning for clients that are not `HTTPResponseError`s.
    @Sendable static func classify(_ error: any Error) -> (any HTTPResponseError)? {
        switch error {
        case let error as PostgresError where error.isConnectionFailure:
            PlatformError.databaseUnavailable
        case let error as PostgresError where error.sqlState == "57014" || error.sqlState == "55P03":
            PlatformError.databaseTimeout
        default:
            nil
        }
    }
}
