import FastCGI
import Kernel
import Platform
import PlatformHost

/// The `optimization` group: build analytics of a project, each route one question to
/// `BuildMetricsStore`, answered from the database alone.
public let group = FunctionGroup(name: "optimization") { router in
    let base = "/v1/projects/:projectId/vercel/optimization"
    router.platform("GET", "\(base)/history", reach: .local, Optimization.history)
    router.platform("GET", "\(base)/benchmarks", reach: .local, Optimization.benchmarks)
    router.platform("GET", "\(base)/analysis", reach: .local, Optimization.analysis)
    router.platform("GET", "\(base)/trends", reach: .local, Optimization.trends)
    router.platform("GET", "\(base)/recommendations", reach: .local, Optimization.recommendations)
}

enum Optimization {
    /// `GET …/history?limit=&cursor=`: a page of finished builds, newest first.
    @Sendable static func history(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        let limit = try call.limit(in: BuildHistory.limits, otherwise: 20)
        let cursor = try call.cursor { BuildHistory.Cursor($0) }
        return .json(try context.buildMetrics.history(of: call.projectID, limit: limit, after: cursor))
    }

    /// `GET …/analysis?days=`: the builds of a window, 30 days unless given.
    @Sendable static func analysis(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        let days = try call.window("days", in: BuildAnalysis.windows) ?? 30
        return .json(try context.buildMetrics.analysis(of: call.projectID, days: days))
    }

    /// `GET …/trends?weeks=`: the analysis week by week, 12 weeks unless given.
    @Sendable static func trends(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        let weeks = try call.window("weeks", in: BuildTrends.windows) ?? 12
        return .json(try context.buildMetrics.trends(of: call.projectID, weeks: weeks))
    }

    /// `GET …/benchmarks`: the project's rank among those building its framework.
    @Sendable static func benchmarks(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        .json(try context.buildMetrics.benchmarks(of: call.projectID))
    }

    /// `GET …/recommendations`: what the rules over the project's builds found.
    @Sendable static func recommendations(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        .json(try context.buildMetrics.recommendations(of: call.projectID, linked: call.project?.link != nil))
    }
}

extension PlatformCall {
    /// The window in query parameter `name`, nil when absent.
    /// - Throws: 400 `INVALID_WINDOW` naming the parameter and its range.
    fileprivate func window(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        try integer(name, in: range, else: OptimizationError.invalidWindow(name, range))
    }
}

/// Every refusal of the `optimization` group, mapped to its status and code in one place.
enum OptimizationError: Error {
    /// A window parameter out of its range.
    case invalidWindow(String, ClosedRange<Int>)
}

extension OptimizationError: GroupRefusal {
    var parts: (status: Int, code: String, message: String) {
        switch self {
        case .invalidWindow(let name, let range):
            (400, "INVALID_WINDOW", "\(name) must be \(range.lowerBound) to \(range.upperBound)")
        }
    }

    var extraFields: [String: JSONValue] {
        switch self {
        case .invalidWindow(_, let range): ["min": .integer(range.lowerBound), "max": .integer(range.upperBound)]
        }
    }
}
