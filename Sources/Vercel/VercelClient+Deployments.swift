import Crypto
import Dispatch
import Kernel
import Logging
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Deployments: `POST /v13/deployments`, `POST /v2/files`, `GET /v13/deployments/{idOrUrl}`,
/// `GET /v6/deployments`, `PATCH /v12/deployments/{id}/cancel`.
extension VercelClient {
    /// Creates a deployment from files already uploaded or a git source. Not retried on 5xx: a
    /// repeated create could make two deployments.
    public func createDeployment(
        _ request: VercelDeploymentRequest, _ credentials: Credentials
    ) throws(VercelError) -> VercelDeployment {
        try call(
            try endpoint("POST", "/v13/deployments", request).adding(query: [("skipAutoDetectionConfirmation", "1")]),
            credentials: credentials)
    }

    /// Uploads one file under its SHA-1 (`x-vercel-digest`). Idempotent: the same bytes, the same name.
    public func uploadFile(
        _ bytes: [UInt8], sha: String, _ credentials: Credentials
    ) throws(VercelError) {
        _ = try send(
            Endpoint(
                "POST", "/v2/files", body: bytes,
                headers: [("Content-Type", "application/octet-stream"), ("x-vercel-digest", sha)], idempotent: true),
            credentials: credentials)
    }

    /// Deploys files from disk: hashes them, asks Vercel to create the deployment, uploads only the
    /// files Vercel reports missing (at most `parallelism` at once, each retried as the policy
    /// allows), then creates it again.
    public func deployFiles(
        _ files: [DeploymentFile], as request: VercelDeploymentRequest, _ credentials: Credentials,
        parallelism: Int = 8
    ) throws(VercelError) -> (deployment: VercelDeployment, report: UploadReport) {
        var contents: [String: [UInt8]] = [:]
        var references: [VercelDeploymentRequest.File] = []
        references.reserveCapacity(files.count)
        for file in files {
            let sha = Hex.encode(Digest.sha1(file.bytes))
            contents[sha] = file.bytes
            references.append(.init(file: file.path, sha: sha, size: file.bytes.count))
        }
        var request = request
        request.files = references
        request.gitSource = nil
        var report = UploadReport()
        for _ in 0..<3 {
            do {
                return (try createDeployment(request, credentials), report)
            } catch .missingFiles(let missing) {
                let unknown = missing.filter { contents[$0] == nil }
                guard unknown.isEmpty else {
                    throw .invalidResponse("Vercel asked for files this deployment does not have")
                }
                let sent = try upload(
                    missing.map { ($0, contents[$0]!) }, credentials, parallelism: parallelism)
                report.filesUploaded += sent.filesUploaded
                report.bytesUploaded += sent.bytesUploaded
            }
        }
        throw .invalidResponse("Vercel still reports missing files after they were uploaded")
    }

    /// Uploads `files` on up to `parallelism` threads, each with a transport of its own. The first
    /// failure stops the others from starting new uploads and is thrown.
    private func upload(
        _ files: [(sha: String, bytes: [UInt8])], _ credentials: Credentials, parallelism: Int
    ) throws(VercelError) -> UploadReport {
        struct Progress {
            var next = 0
            var report = UploadReport()
            var failure: VercelError?
        }
        let progress = Mutex(Progress())
        let uploadConfiguration = configuration
        // Only the token and the team travel to the upload threads: uploads never refresh.
        let accessToken = credentials.accessToken
        let teamID = credentials.teamID
        let logger = self.logger
        let makeTransport = makeUploadTransport
        let workers = max(1, min(parallelism, files.count))
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            // Uploads skip the breaker: it was consulted for the create, and its store's database
            // connection belongs to the calling thread.
            let client = VercelClient(
                configuration: uploadConfiguration, transport: makeTransport(), breakers: nil, logger: logger,
                makeUploadTransport: makeTransport)
            let credentials = Credentials(accessToken: accessToken, teamID: teamID)
            while true {
                let index: Int? = progress.withLock { state in
                    guard state.failure == nil, state.next < files.count else { return nil }
                    defer { state.next += 1 }
                    return state.next
                }
                guard let index else { return }
                let sent = Result { () throws(VercelError) in
                    try client.uploadFile(
                        files[index].bytes, sha: files[index].sha, credentials)
                }
                progress.withLock { state in
                    switch sent {
                    case .success:
                        state.report.filesUploaded += 1
                        state.report.bytesUploaded += files[index].bytes.count
                    case .failure(let error):
                        if state.failure == nil { state.failure = error }
                    }
                }
            }
        }
        let outcome = progress.withLock { $0 }
        if let failure = outcome.failure { throw failure }
        return outcome.report
    }

    public func deployment(
        _ idOrURL: String, _ credentials: Credentials
    ) throws(VercelError) -> VercelDeployment {
        try call(
            Endpoint("GET", "/v13/deployments/\(idOrURL)"), credentials: credentials)
    }

    /// One page of a project's deployments, newest first.
    public func deployments(
        projectID: String?, _ credentials: Credentials, limit: Int = 20, until: VercelCursor? = nil,
        target: String? = nil,
        state: String? = nil, meta: [(String, String)] = []
    ) throws(VercelError) -> VercelPage<VercelDeploymentSummary> {
        struct Body: Decodable {
            let deployments: LossyList<VercelDeploymentSummary>
            let pagination: VercelPagination?
        }
        var query = [("limit", "\(min(max(limit, 1), 100))")]
        if let projectID { query.append(("projectId", projectID)) }
        if let until { query.append(("until", until.description)) }
        if let target { query.append(("target", target)) }
        if let state { query.append(("state", state)) }
        // Only the deployments whose `meta` holds each pair (as `vercel list --meta` asks).
        query += meta.map { ("meta-" + $0.0, $0.1) }
        let body = try call(
            Endpoint("GET", "/v6/deployments", query: query), as: Body.self, credentials: credentials)
        return VercelPage(
            items: readable(body.deployments, "deployment", credentials), next: body.pagination?.next)
    }

    /// Cancels a deployment that is still building.
    public func cancelDeployment(
        _ id: String, _ credentials: Credentials
    ) throws(VercelError) -> VercelDeployment {
        try call(
            Endpoint("PATCH", "/v12/deployments/\(id)/cancel", idempotent: true),
            credentials: credentials)
    }
}

extension VercelClient.Endpoint {
    func adding(query more: [(String, String)]) -> Self {
        var copy = self
        copy.query += more
        return copy
    }
}
