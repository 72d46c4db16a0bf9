import Platform

/// The `domains` group: a linked project's custom domains.
public let group = FunctionGroup(name: "domains") { router in
    let domains = "/v1/projects/:projectId/vercel/domains"
    router.planned("GET", domains)
    router.planned("POST", domains)
    router.planned("GET", "\(domains)/:domain/verification")
    router.planned("POST", "\(domains)/:domain/verify")
    router.planned("DELETE", "\(domains)/:domain")
}
