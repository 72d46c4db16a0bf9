import Platform

/// The `breakglass` group: the administrators' routes. Audited emergency access to the encrypted
/// tokens, and the work queue's dead jobs.
public let group = FunctionGroup(name: "breakglass") { router in
    router.admin("GET", "/v1/admin/vercel/jobs", OperatorJobs.list)
    router.admin("POST", "/v1/admin/vercel/jobs/:id/retry", OperatorJobs.retry)
    let base = "/v1/admin/vercel/breakglass"
    router.planned("POST", "\(base)/requests", admin: true)
    router.planned("GET", "\(base)/requests", admin: true)
    router.planned("POST", "\(base)/requests/:id/approve", admin: true)
    router.planned("POST", "\(base)/requests/:id/deny", admin: true)
    router.planned("POST", "\(base)/requests/:id/execute", admin: true)
    router.planned("GET", "\(base)/audit", admin: true)
    router.planned("POST", "\(base)/key-recovery", admin: true)
}
