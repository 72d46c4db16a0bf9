import Platform

/// The `breakglass` group: audited emergency access to the encrypted tokens, for administrators.
public let group = FunctionGroup(name: "breakglass") { router in
    let base = "/v1/admin/vercel/breakglass"
    router.planned("POST", "\(base)/requests", admin: true)
    router.planned("GET", "\(base)/requests", admin: true)
    router.planned("POST", "\(base)/requests/:id/approve", admin: true)
    router.planned("POST", "\(base)/requests/:id/deny", admin: true)
    router.planned("POST", "\(base)/requests/:id/execute", admin: true)
    router.planned("GET", "\(base)/audit", admin: true)
    router.planned("POST", "\(base)/key-recovery", admin: true)
}
