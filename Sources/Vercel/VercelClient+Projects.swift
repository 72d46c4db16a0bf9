import Kernel

/// The user, the teams and projects: `GET /v2/user`, `GET /v2/teams`, `GET /v10/projects`,
/// `GET /v9/projects/{idOrName}`, `POST /v11/projects`, `PATCH /v9/projects/{idOrName}`.
extension VercelClient {
    public func user(_ credentials: Credentials) throws(VercelError) -> VercelUser {
        struct Body: Decodable { let user: VercelUser }
        return try call(
            Endpoint("GET", "/v2/user"), as: Body.self, credentials: credentials
        ).user
    }

    public func teams(_ credentials: Credentials) throws(VercelError) -> [VercelTeam] {
        struct Body: Decodable { let teams: LossyList<VercelTeam> }
        return readable(
            try call(Endpoint("GET", "/v2/teams"), as: Body.self, credentials: credentials).teams, "team", credentials)
    }

    /// One page of projects, newest first; pass the page's `next` as `until` for the following one.
    public func projects(
        _ credentials: Credentials, limit: Int = 20, until: VercelCursor? = nil, search: String? = nil
    ) throws(VercelError) -> VercelPage<VercelProject> {
        /// `{projects, pagination}`, or a bare array of projects.
        struct Body: Decodable {
            var projects: LossyList<VercelProject>
            var pagination: VercelPagination?

            enum Keys: String, CodingKey { case projects, pagination }

            init(from decoder: any Decoder) throws {
                if let container = try? decoder.container(keyedBy: Keys.self) {
                    projects = try container.decode(LossyList<VercelProject>.self, forKey: .projects)
                    pagination = try? container.decodeIfPresent(VercelPagination.self, forKey: .pagination)
                } else {
                    projects = try LossyList(from: decoder)
                }
            }
        }
        var query = [("limit", "\(min(max(limit, 1), 100))")]
        if let until { query.append(("until", until.description)) }
        if let search, !search.isEmpty { query.append(("search", search)) }
        let body = try call(
            Endpoint("GET", "/v10/projects", query: query), as: Body.self, credentials: credentials)
        return VercelPage(items: readable(body.projects, "project", credentials), next: body.pagination?.next)
    }

    public func project(
        _ idOrName: String, _ credentials: Credentials
    ) throws(VercelError) -> VercelProject {
        try call(
            Endpoint("GET", "/v9/projects/\(idOrName)"), credentials: credentials)
    }

    public func createProject(
        _ settings: VercelProjectSettings, _ credentials: Credentials
    ) throws(VercelError) -> VercelProject {
        try call(
            try endpoint("POST", "/v11/projects", settings), credentials: credentials)
    }

    public func updateProject(
        _ idOrName: String, _ settings: VercelProjectSettings, _ credentials: Credentials
    ) throws(VercelError) -> VercelProject {
        try call(
            try endpoint("PATCH", "/v9/projects/\(idOrName)", settings, idempotent: true),
            credentials: credentials)
    }

    func endpoint(
        _ method: String, _ path: EndpointPath, _ body: some Encodable, idempotent: Bool? = nil
    ) throws(VercelError) -> Endpoint {
        do {
            return try .json(method, path, body, idempotent: idempotent)
        } catch {
            throw .invalidResponse("the request body could not be encoded")
        }
    }

    /// Removes an integration configuration (`DELETE /v1/integrations/configuration/{id}`): the
    /// user's installation ends, and with it every token it issued.
    public func removeIntegrationConfiguration(_ id: String, _ credentials: Credentials) throws(VercelError) {
        _ = try send(
            Endpoint("DELETE", "/v1/integrations/configuration/\(id)"), credentials: credentials)
    }

    /// An integration configuration (`GET /v1/integrations/configuration/{id}`): the installation,
    /// with the permissions it holds where Vercel reports them.
    public func integrationConfiguration(
        _ id: String, _ credentials: Credentials
    ) throws(VercelError)
        -> VercelIntegrationConfiguration
    {
        try call(Endpoint("GET", "/v1/integrations/configuration/\(id)"), credentials: credentials)
    }
}

/// The part of an integration configuration the service reads. One of Vercel's variants has no `id`.
public struct VercelIntegrationConfiguration: Decodable, Sendable, Equatable {
    public let id: String?
    /// In Vercel's words (`read-write:project`); nil when Vercel does not report them.
    public let scopes: [String]?

    private enum Keys: String, CodingKey { case id, scopes }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        id = try? container.identifier(.id)
        scopes = (try? container.decodeIfPresent(LossyList<String>.self, forKey: .scopes))?.items
    }
}
