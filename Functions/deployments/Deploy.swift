#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Crypto
import FastCGI
import Platform
import Postgres
import Vercel

/// `POST /v1/projects/:projectId/vercel/deploy`: a deployment from a git branch of the linked
/// repository or from the project's files on disk. An idempotency key names one deployment for
/// good: concurrent requests with it wait for the first and get its deployment. The deployment's
/// row is written before the answer, so a webhook that comes first or later finds it.
enum Deploy {
    struct Body: Decodable {
        let userId: String
        let deploymentType: String
        let gitSource: GitSource?
        let idempotencyKey: String?
        let overrideToken: String?

        struct GitSource: Decodable {
            let branch: String
            let commitSha: String?
            let prNumber: Int?
        }
    }

    /// How long a request waits for another with its idempotency key to finish.
    static let idempotencyWait: Duration = .seconds(30)

    @Sendable static func deploy(_ request: Request, _ context: RequestContext, _ caller: PlatformCaller) throws -> Response {
        let body = try request.decodeJSON(Body.self)
        try validate(body)
        let projectID = try request.projectID()
        let project = try LinkedProject.load(projectID, database: context.database)
        guard let key = body.idempotencyKey else {
            return try create(body, project, request, context, caller)
        }
        let fingerprint = Digest.sha256Hex(
            [body.deploymentType, body.gitSource?.branch ?? "", body.gitSource?.commitSha ?? "", body.gitSource?.prNumber.map { "\($0)" } ?? ""]
                .joined(separator: "\n"))
        let deadline = ContinuousClock.now + idempotencyWait
        while true {
            let answer = try context.database.withAdvisoryLockIfFree("vercel.deploy:\(projectID):\(key)") { () throws -> Response in
                if let earlier = try context.database.query(
                    "SELECT deployment_id, request_hash FROM vercel_deployment_idempotency WHERE project_id = \(projectID) AND idempotency_key = \(key)"
                ).first {
                    guard ConstantTime.equals(try earlier.decode("request_hash", as: String.self), fingerprint) else {
                        throw HTTPError(
                            422, code: "IDEMPOTENCY_KEY_REUSED", message: "This idempotency key was used for a different deploy request")
                    }
                    let deployment = try DeploymentStore(database: context.database, logger: request.logger)
                        .require(try earlier.decode("deployment_id"), projectID: projectID)
                    return accepted(deployment, replayed: true)
                }
                return try create(body, project, request, context, caller) { deploymentID in
                    try context.database.execute(
                        """
                        INSERT INTO vercel_deployment_idempotency (project_id, idempotency_key, deployment_id, request_hash)
                        VALUES (\(projectID), \(key), \(deploymentID), \(fingerprint))
                        """)
                }
            }
            if let answer { return answer }
            guard ContinuousClock.now < deadline else {
                throw HTTPError(
                    409, code: "DEPLOY_IN_PROGRESS", message: "A deploy with this idempotency key is still being created; try again",
                    extraFields: ["retryAfter": 2], headers: [("Retry-After", "2")])
            }
            usleep(50_000)
        }
    }

    static func validate(_ body: Body) throws {
        guard ["production", "preview"].contains(body.deploymentType) else {
            throw HTTPError.badRequest("deploymentType must be production or preview", code: "INVALID_DEPLOYMENT_TYPE")
        }
        if let source = body.gitSource {
            guard GitRef.isValidBranch(source.branch) else {
                throw HTTPError.badRequest("gitSource.branch is not a valid branch name", code: "INVALID_GIT_SOURCE")
            }
            if let sha = source.commitSha {
                guard (7...40).contains(sha.utf8.count), sha.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
                    throw HTTPError.badRequest("gitSource.commitSha must be 7 to 40 lowercase hex digits", code: "INVALID_GIT_SOURCE")
                }
            }
            if let pr = source.prNumber, !(1...Int(Int32.max)).contains(pr) {
                throw HTTPError.badRequest("gitSource.prNumber must be a positive number", code: "INVALID_GIT_SOURCE")
            }
        }
        if let key = body.idempotencyKey {
            guard (1...255).contains(key.utf8.count), key.utf8.allSatisfy({ (0x21...0x7e).contains($0) }) else {
                throw HTTPError.badRequest("idempotencyKey must be 1 to 255 printable ASCII characters", code: "INVALID_IDEMPOTENCY_KEY")
            }
        }
    }

    /// Creates the deployment at Vercel and stores it; `recorded` runs once its row exists.
    static func create(
        _ body: Body, _ project: LinkedProject, _ request: Request, _ context: RequestContext, _ caller: PlatformCaller,
        recorded: (String) throws -> Void = { _ in }
    ) throws -> Response {
        let production = body.deploymentType == "production"
        let guardrail = DeploymentGuardrail.evaluate(
            production: production, branch: body.gitSource?.branch, productionBranch: project.productionBranch)
        let override = try DeploymentOverrides.pass(
            guardrail, token: body.overrideToken, action: "deploy", project: project.projectID, caller: caller, context: context,
            correlationID: request.requestID)
        let created: VercelDeployment
        var uploaded: UploadReport?
        do {
            let credentials = try context.vercelCredentials(
                for: caller, connection: project.connectionID, requiring: "deployment:write", correlationID: request.requestID)
            let client = try context.vercel().client
            var vercelRequest = VercelDeploymentRequest(
                name: project.vercelProjectName, project: project.vercelProjectID, target: production ? "production" : nil,
                meta: ["sheenProjectId": project.projectID.uuidString.lowercased()])
            if let source = body.gitSource {
                guard let gitSource = project.repository?.gitSource(ref: source.branch, sha: source.commitSha) else {
                    throw HTTPError(
                        422, code: "NO_GIT_REPOSITORY", message: "The linked Vercel project is not connected to a git repository")
                }
                vercelRequest.gitSource = gitSource
                created = try client.createDeployment(vercelRequest, credentials, correlationID: request.requestID)
            } else {
                guard let root = ProcessInfo.processInfo.environment["SHEEN_PROJECTS_ROOT"] else {
                    throw HTTPError(503, code: "PROJECT_FILES_UNAVAILABLE", message: "Project files are not available to this service")
                }
                let files = try ProjectFiles.read(root + "/" + project.projectID.uuidString.lowercased())
                let outcome = try client.deployFiles(files, as: vercelRequest, credentials, correlationID: request.requestID)
                created = outcome.deployment
                uploaded = outcome.report
            }
        } catch {
            override?.refund()
            throw error
        }
        let source: JSONValue = body.gitSource.map { source in
            var fields: [String: JSONValue] = ["branch": .string(source.branch)]
            if let sha = source.commitSha { fields["commitSha"] = .string(sha) }
            if let pr = source.prNumber { fields["prNumber"] = .integer(pr) }
            if let type = project.repository?.type { fields["provider"] = .string(type) }
            if let repo = project.repository?.repo { fields["repository"] = .string([project.repository?.org, repo].compactMap { $0 }.joined(separator: "/")) }
            return .object(fields)
        } ?? .object([:])
        let store = DeploymentStore(database: context.database, logger: request.logger)
        let deployment = try store.recordCreated(
            created, of: project,
            origin: .init(production: production, gitSource: source, createdBy: caller.userID, correlationID: request.requestID))
        try recorded(deployment.deploymentID)
        request.logger.info("deployment created", metadata: [
            "deployment.id": "\(deployment.deploymentID)", "project.id": "\(project.projectID)", "deployment.type": "\(deployment.type)",
            "files.uploaded": "\(uploaded?.filesUploaded ?? 0)",
        ])
        return accepted(deployment, replayed: false, upload: uploaded)
    }

    /// 202 with the deployment; `upload` tells what a deployment from disk sent.
    static func accepted(_ deployment: DeploymentStore.Record, replayed: Bool, upload: UploadReport? = nil) -> Response {
        var fields: [String: JSONValue] = [
            "deployment": deployment.json, "deploymentUrl": deployment.url.map { .string($0) } ?? .null,
            "idempotentReplay": .bool(replayed),
        ]
        if let upload {
            fields["upload"] = .object(["filesUploaded": .integer(upload.filesUploaded), "bytesUploaded": .integer(upload.bytesUploaded)])
        }
        return .json(JSONValue.object(fields), status: 202)
    }
}
