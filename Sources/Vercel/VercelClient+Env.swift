import Kernel

/// Environment variables: `GET /v10/projects/{id}/env`, `POST /v10/projects/{id}/env?upsert=true`,
/// `PATCH /v9/projects/{id}/env/{envId}`, `DELETE /v9/projects/{id}/env/{envId}`. Values go to
/// Vercel in request bodies only; nothing here logs them (the client logs paths, not bodies).
extension VercelClient {
    public func envVariables(
        projectID: String, _ credentials: Credentials
    ) throws(VercelError) -> [VercelEnvVariable] {
        let list = try call(
            Endpoint("GET", "/v10/projects/\(projectID)/env"), as: VercelEnvList.self,
            credentials: credentials)
        return readable(list.envs, "env_variable", credentials)
    }

    /// Creates (or, with `upsert`, updates) variables in one call. Upserts are idempotent.
    public func createEnvVariables(
        _ variables: [VercelNewEnvVariable], projectID: String, upsert: Bool = true, _ credentials: Credentials
    ) throws(VercelError) -> VercelEnvBatchResult {
        var endpoint = try endpoint(
            "POST", "/v10/projects/\(projectID)/env", variables, idempotent: upsert)
        if upsert { endpoint = endpoint.adding(query: [("upsert", "true")]) }
        return try call(endpoint, credentials: credentials)
    }

    public func updateEnvVariable(
        id: String, projectID: String, value: String? = nil, target: [String]? = nil, type: String? = nil,
        _ credentials: Credentials
    ) throws(VercelError) -> VercelEnvVariable {
        struct Change: Encodable {
            let value: String?
            let target: [String]?
            let type: String?
        }
        return try call(
            try endpoint(
                "PATCH", "/v9/projects/\(projectID)/env/\(id)",
                Change(value: value, target: target, type: type), idempotent: true),
            credentials: credentials)
    }

    public func deleteEnvVariable(
        id: String, projectID: String, _ credentials: Credentials
    ) throws(VercelError) {
        _ = try send(
            Endpoint("DELETE", "/v9/projects/\(projectID)/env/\(id)"),
            credentials: credentials)
    }

    /// One variable with its value decrypted (`GET /v1/projects/{id}/env/{envId}`); a sensitive one
    /// comes back without a value.
    public func envVariable(
        id: String, projectID: String, _ credentials: Credentials
    ) throws(VercelError) -> VercelEnvVariable {
        try call(
            Endpoint("GET", "/v1/projects/\(projectID)/env/\(id)"),
            credentials: credentials)
    }

    /// Deletes variables by id in one call (`DELETE /v1/projects/{id}/env` `{ids}`); the ids Vercel
    /// deleted.
    public func deleteEnvVariables(
        ids: [String], projectID: String, _ credentials: Credentials
    ) throws(VercelError) -> [String] {
        struct Batch: Encodable { let ids: [String] }
        struct Deleted: Decodable { let ids: [String]? }
        return try call(
            try endpoint(
                "DELETE", "/v1/projects/\(projectID)/env", Batch(ids: ids), idempotent: true),
            as: Deleted.self, credentials: credentials
        ).ids ?? []
    }
}
