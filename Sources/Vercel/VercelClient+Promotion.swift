import Kernel

/// Production aliases: promote `POST /v10/projects/{id}/promote/{deploymentId}` (202: queued),
/// rollback `POST /v1/projects/{id}/rollback/{deploymentId}`, progress in the project's
/// `lastAliasRequest`, and `POST /v2/deployments/{id}/aliases`.
extension VercelClient {
    /// Points production at a READY deployment. Idempotent: the same deployment, the same result.
    public func promote(
        deploymentID: String, projectID: String, _ credentials: Credentials
    ) throws(VercelError) {
        _ = try send(
            Endpoint(
                "POST", "/v10/projects/\(projectID)/promote/\(deploymentID)",
                idempotent: true),
            credentials: credentials)
    }

    /// Points production back at a deployment that served it; `description`, the reason, shows in
    /// Vercel's dashboard.
    public func rollback(
        deploymentID: String, projectID: String, description: String? = nil, _ credentials: Credentials
    ) throws(VercelError) {
        var endpoint = Endpoint("POST", "/v1/projects/\(projectID)/rollback/\(deploymentID)", idempotent: true)
        if let description { endpoint = endpoint.adding(query: [("description", String(description.prefix(200)))]) }
        _ = try send(endpoint, credentials: credentials)
    }

    /// The production deployment and the last alias request of a project.
    public func productionState(
        projectID: String, _ credentials: Credentials
    ) throws(VercelError) -> VercelProductionState {
        try call(
            Endpoint("GET", "/v9/projects/\(projectID)"), credentials: credentials)
    }

    public func assignAlias(
        _ alias: String, deploymentID: String, _ credentials: Credentials
    ) throws(VercelError) -> VercelAlias {
        struct Body: Encodable { let alias: String }
        return try call(
            try endpoint(
                "POST", "/v2/deployments/\(deploymentID)/aliases", Body(alias: alias),
                idempotent: true),
            credentials: credentials)
    }
}

/// The parts of `GET /v9/projects/{id}` that tell where production points.
public struct VercelProductionState: Decodable, Sendable, Equatable {
    public let targets: Targets?
    public let lastAliasRequest: AliasRequest?

    public struct Targets: Decodable, Sendable, Equatable {
        public let production: Production?
    }

    public struct Production: Decodable, Sendable, Equatable {
        public let id: String
        public let url: String?
        public let alias: [String]?
    }

    public struct AliasRequest: Decodable, Sendable, Equatable {
        public let fromDeploymentId: String?
        public let toDeploymentId: String
        public let jobStatus: String
        public let type: String
    }
}
