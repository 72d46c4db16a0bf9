import Platform

/// The `optimization` group: build analytics of a project.
public let group = FunctionGroup(name: "optimization") { router in
    let base = "/v1/projects/:projectId/vercel/optimization"
    router.platform("GET", "\(base)/history", BuildHistory.list)
    router.platform("GET", "\(base)/benchmarks", BuildBenchmarks.get)
    for view in ["analysis", "recommendations", "trends"] {
        router.planned("GET", "\(base)/\(view)")
    }
}
