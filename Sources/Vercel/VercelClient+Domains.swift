import Kernel

/// Project domains: add `POST /v10/projects/{id}/domains`, list/get/remove
/// `/v9/projects/{id}/domains[/{domain}]`, verify `POST /v9/projects/{id}/domains/{domain}/verify`,
/// configuration `GET /v6/domains/{domain}/config`.
extension VercelClient {
    public func addDomain(
        _ name: String, projectID: String, redirect: String? = nil, redirectStatusCode: Int? = nil,
        gitBranch: String? = nil,
        _ credentials: Credentials
    ) throws(VercelError) -> VercelDomain {
        struct Body: Encodable {
            let name: String
            let redirect: String?
            let redirectStatusCode: Int?
            let gitBranch: String?
        }
        return try call(
            try endpoint(
                "POST", "/v10/projects/\(projectID)/domains",
                Body(name: name, redirect: redirect, redirectStatusCode: redirectStatusCode, gitBranch: gitBranch)),
            credentials: credentials)
    }

    public func domains(
        projectID: String, _ credentials: Credentials
    ) throws(VercelError) -> [VercelDomain] {
        struct Body: Decodable { let domains: LossyList<VercelDomain> }
        let body = try call(
            Endpoint("GET", "/v9/projects/\(projectID)/domains"), as: Body.self,
            credentials: credentials)
        return readable(body.domains, "domain", credentials)
    }

    public func domain(
        _ name: String, projectID: String, _ credentials: Credentials
    ) throws(VercelError) -> VercelDomain {
        try call(
            Endpoint("GET", "/v9/projects/\(projectID)/domains/\(name)"),
            credentials: credentials)
    }

    /// Asks Vercel to check the domain's verification record; Vercel's error says what is missing.
    public func verifyDomain(
        _ name: String, projectID: String, _ credentials: Credentials
    ) throws(VercelError) -> VercelDomain {
        try call(
            Endpoint(
                "POST", "/v9/projects/\(projectID)/domains/\(name)/verify",
                idempotent: true),
            credentials: credentials)
    }

    /// Removes the domain from the project, and with `removeRedirects` the project's domains that
    /// redirect to it.
    public func removeDomain(
        _ name: String, projectID: String, removeRedirects: Bool = true, _ credentials: Credentials
    ) throws(VercelError) {
        struct Body: Encodable { let removeRedirects: Bool }
        _ = try send(
            try endpoint(
                "DELETE", "/v9/projects/\(projectID)/domains/\(name)",
                Body(removeRedirects: removeRedirects), idempotent: true),
            credentials: credentials)
    }

    /// How Vercel sees the name's DNS, with the records it recommends for `projectID`.
    public func domainConfig(
        _ name: String, projectID: String? = nil, _ credentials: Credentials
    ) throws(VercelError) -> VercelDomainConfig {
        try call(
            Endpoint(
                "GET", "/v6/domains/\(name)/config",
                query: projectID.map { [("projectIdOrName", $0)] } ?? []),
            credentials: credentials)
    }
}
