import Platform

/// The `optimization` group: build analytics of a project.
public let group = FunctionGroup(name: "optimization") { router in
    let base = "/v1/projects/:projectId/vercel/optimization"
    router.platform("GET", "\(base)/history", BuildHistory.list)
    router.platform("GET", "\(base)/benchmarks", BuildBenchmarks.get)
    router.platform("GET", "\(base)/analysis", BuildAnalysis.get)
    router.platform("GET", "\(base)/trends", BuildTrends.get)
    router.platform("GET", "\(base)/recommendations", BuildRecommendations.get)
}
