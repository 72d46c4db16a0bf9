import Platform
import PlatformHost

/// The `breakglass` group: the administrators' routes. Audited emergency access to the encrypted
/// tokens, and the work queue's dead jobs.
public let group = FunctionGroup(name: "breakglass") { router in
    router.admin("GET", "/v1/admin/vercel/jobs", reach: .local, OperatorJobs.list)
    router.admin("POST", "/v1/admin/vercel/jobs/:id/retry", reach: .local, OperatorJobs.retry)
    router.admin("POST", "/v1/admin/vercel/jobs/:id/replay", reach: .local, OperatorJobs.replay)
    let base = "/v1/admin/vercel/breakglass"
    router.admin(
        "POST", "\(base)/requests", input: BreakglassRequests.CreateInput.self, reach: .local, BreakglassRequests.create
    )
    router.admin("GET", "\(base)/requests", reach: .local, BreakglassRequests.list)
    router.admin("GET", "\(base)/requests/:id", reach: .local, BreakglassRequests.show)
    let decision = BreakglassRequests.DecisionInput.self
    router.admin("POST", "\(base)/requests/:id/approve", input: decision, reach: .local, BreakglassRequests.approve)
    router.admin("POST", "\(base)/requests/:id/deny", input: decision, reach: .local, BreakglassRequests.deny)
    router.admin("POST", "\(base)/requests/:id/execute", input: decision, reach: .local, BreakglassRequests.execute)
    router.admin("GET", "/v1/admin/vercel/admin-keys", reach: .local, AdminKeys.list)
    router.admin("GET", "\(base)/audit", reach: .local, BreakglassAudit.page)
    router.admin("POST", "\(base)/key-recovery", input: KeyRecovery.Input.self, reach: .local, KeyRecovery.recover)
}
