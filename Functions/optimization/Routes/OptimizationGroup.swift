import Platform

/// The `optimization` group: build analytics of a linked project.
public let group = FunctionGroup(name: "optimization") { router in
    for view in ["analysis", "recommendations", "history", "benchmarks", "trends"] {
        router.planned("GET", "/v1/projects/:projectId/vercel/optimization/\(view)")
    }
}
