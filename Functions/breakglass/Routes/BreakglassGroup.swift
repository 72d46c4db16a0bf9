import Platform

/// The `breakglass` group: the administrators' routes. Audited emergency access to the encrypted
/// tokens, and the work queue's dead jobs.
public let group = FunctionGroup(name: "breakglass") { router in
    router.admin("GET", "/v1/admin/vercel/jobs", OperatorJobs.list)
    router.admin("POST", "/v1/admin/vercel/jobs/:id/retry", OperatorJobs.retry)
    let base = "/v1/admin/vercel/breakglass"
    router.admin(
        "POST", "\(base)/requests", input: BreakglassRequests.CreateInput.self, BreakglassRequests.create)
    router.admin("GET", "\(base)/requests", BreakglassRequests.list)
    router.admin("POST", "\(base)/requests/:id/approve", BreakglassRequests.approve)
    router.admin("POST", "\(base)/requests/:id/deny", BreakglassRequests.deny)
    router.admin("POST", "\(base)/requests/:id/execute", BreakglassRequests.execute)
    router.admin("GET", "\(base)/audit", BreakglassAudit.page)
    router.admin("POST", "\(base)/key-recovery", input: KeyRecovery.Input.self, KeyRecovery.recover)
}
