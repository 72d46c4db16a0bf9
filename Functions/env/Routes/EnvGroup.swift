import Platform

/// The `env` group: the platform's environment variables and Vercel's, kept in step.
public let group = FunctionGroup(name: "env") { router in
    let env = "/v1/projects/:projectId/vercel/env"
    router.planned("GET", env)
    router.planned("POST", "\(env)/sync")
    router.planned("PUT", "\(env)/:key")
    router.planned("DELETE", "\(env)/:key")
}
