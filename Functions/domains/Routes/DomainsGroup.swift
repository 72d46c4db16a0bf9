import FastCGI
import Platform
import PlatformHost

/// The `domains` group: a linked project's custom domains, from adding one to knowing it serves.
public let group = FunctionGroup(name: "domains") { router in
    let domains = "/v1/projects/:projectId/vercel/domains"
    router.platform("GET", domains, reach: .local, Domains.list)
    router.platform("POST", domains, input: Domains.AddInput.self, Domains.add)
    router.platform("GET", "\(domains)/:domain/verification", Domains.verification)
    router.platform("POST", "\(domains)/:domain/verify", Domains.verify)
    router.platform("DELETE", "\(domains)/:domain", Domains.remove)
}
