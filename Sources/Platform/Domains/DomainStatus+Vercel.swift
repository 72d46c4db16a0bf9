import Vercel

extension DomainStatus {
    /// Reads the project domain `name` and its DNS configuration from Vercel, into a status. A
    /// domain Vercel no longer has on the project (404) is `removed`; the configuration is read only
    /// for a domain that exists.
    public static func read(
        _ name: String, vercelProjectID: String, client: VercelClient, _ credentials: VercelClient.Credentials
    ) throws(VercelError) -> DomainStatus {
        let found = Result { () throws(VercelError) -> VercelDomain in
            try client.domain(name, projectID: vercelProjectID, credentials)
        }
        switch found {
        case .success(let domain):
            let config = try client.domainConfig(name, projectID: vercelProjectID, credentials)
            return DomainStatus(name: name, domain: domain, config: config)
        case .failure(.api(404, _, _)):
            return DomainStatus(name: name, domain: nil, config: nil)
        case .failure(let error):
            throw error
        }
    }
}
