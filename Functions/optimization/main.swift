import Platform

GroupFunction.run(group: "optimization") { router in
    for view in ["analysis", "recommendations", "history", "benchmarks", "trends"] {
        router.planned("GET", "/v1/projects/:projectId/vercel/optimization/\(view)")
    }
}
