import Platform

/// The `optimization` group: build analytics of a project.
public let group = FunctionGroup(name: "optimization") { router in
    let base = "/v1/projects/:projectId/vercel/optimization"
    router.platform("GET", "\(base)/history", reach: .local, BuildHistory.list)
    router.platform("GET", "\(base)/benchmarks", reach: .local, BuildBenchmarks.get)
    router.platform("GET", "\(base)/analysis", reach: .local, BuildAnalysis.get)
    router.platform("GET", "\(base)/trends", reach: .local, BuildTrends.get)
    router.platform("GET", "\(base)/recommendations", reach: .local, BuildRecommendations.get)
}
