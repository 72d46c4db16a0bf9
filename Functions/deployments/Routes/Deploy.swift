import Crypto
import FastCGI
import Platform
import PlatformHost
import Vercel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// `POST /v1/projects/:projectId/vercel/deploy`: a deployment from a git branch of the linked
/// repository or from the project's files on disk. An idempotency key names one deployment for
/// good: concurrent requests with it wait for the first and get its deployment. The deployment's
/// row is written before the answer, so a webhook that comes first or later finds it.
enum Deploy {
    struct Input: Decodable {
        let deploymentType: String
        let gitSource: GitSource?
        let idempotencyKey: String?
        let overrideToken: String?

        struct GitSource: Decodable {
            let branch: String
            let commitSha: String?
            let prNumber: Int?
        }

        var isProduction: Bool { deploymentType == "production" }

        /// What identifies the request an idempotency key was first used for.
        var fingerprint: String {
            Digest.sha256Hex(
                [
                    deploymentType, gitSource?.branch ?? "", gitSource?.commitSha ?? "",
                    gitSource?.prNumber.map { "\($0)" } ?? "",
                ]
                .joined(separator: "\n"))
        }

        func validate() throws {
            guard DeployTarget(rawValue: deploymentType) != nil else {
                throw DeploymentsError.invalidDeploymentType
            }
            if let source = gitSource {
                guard GitRef.isValidBranch(source.branch) else {
                    throw DeploymentsError.invalidGitSource("gitSource.branch is not a valid branch name")
                }
                if let sha = source.commitSha {
                    guard (7...40).contains(sha.utf8.count),
                        sha.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
                    else {
                        throw DeploymentsError.invalidGitSource(
                            "gitSource.commitSha must be 7 to 40 lowercase hex digits")
                    }
                }
                if let pr = source.prNumber, !(1...Int(Int32.max)).contains(pr) {
                    throw DeploymentsError.invalidGitSource("gitSource.prNumber must be a positive number")
                }
            }
            if let key = idempotencyKey {
                // `git:` keys are the git deliveries' (`git:<provider>:<repo>:<sha>:<target>`).
                guard (1...255).contains(key.utf8.count), key.utf8.allSatisfy({ (0x21...0x7e).contains($0) }),
                    !key.hasPrefix("git:")
                else {
                    throw DeploymentsError.invalidIdempotencyKey
                }
            }
        }
    }

    struct Accepted: Encodable {
        let deployment: DeploymentRecord
        let deploymentUrl: String?
        let idempotentReplay: Bool
        let upload: Upload?

        struct Upload: Encodable {
            let filesUploaded: Int
            let bytesUploaded: Int
        }

        func encode(to encoder: any Encoder) throws {
            enum Keys: String, CodingKey { case deployment, deploymentUrl, idempotentReplay, upload }
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(deployment, forKey: .deployment)
            try container.encode(deploymentUrl, forKey: .deploymentUrl)
            try container.encode(idempotentReplay, forKey: .idempotentReplay)
            try container.encodeIfPresent(upload, forKey: .upload)
        }

        init(_ deployment: DeploymentRecord, replayed: Bool, upload: UploadReport? = nil) {
            self.deployment = deployment
            deploymentUrl = deployment.url
            idempotentReplay = replayed
            self.upload = upload.map { Upload(filesUploaded: $0.filesUploaded, bytesUploaded: $0.bytesUploaded) }
        }
    }

    /// How long a request waits for another with its idempotency key to finish.
    static let idempotencyWait: Duration = .seconds(30)

    @Sendable static func deploy(_ call: PlatformCall<Input>, _ context: WorkerServices) throws -> Response {
        let input = call.input
        try input.validate()
        let project = try call.linkedProject()
        guard let key = input.idempotencyKey else {
            return .json(try create(call, project, context), status: 202)
        }
        let outcome = try context.deploys.deployOnce(
            project, key: key, fingerprint: input.fingerprint, production: input.isProduction,
            createdBy: call.caller.userID, wait: idempotencyWait, logger: call.logger,
            replay: { Accepted($0, replayed: true) },
            create: { attempt in
                try create(call, project, context, idempotency: (key, input.fingerprint), attempt: attempt)
            })
        switch outcome {
        case .done(let answer): return .json(answer, status: 202)
        case .keyReused: throw DeploymentsError.idempotencyKeyReused
        case .busy: throw DeploymentsError.deployInProgress
        case .missing: throw DeploymentsError.deploymentNotFound
        }
    }

    /// Creates the deployment at Vercel and stores it, with its idempotency key when it has one.
    static func create(
        _ call: PlatformCall<Input>, _ project: LinkedProject, _ context: WorkerServices,
        idempotency: (key: String, fingerprint: String)? = nil, attempt: DeployAttemptStore.Attempt? = nil
    ) throws -> Accepted {
        let input = call.input
        let credentials = try context.vercelCredentials(
            for: call, connection: project.connectionID, requiring: .writeDeployment)
        // Only a production deploy from a branch compares with the production branch.
        let productionBranch =
            input.isProduction && input.gitSource != nil
            ? context.deploys.productionBranch(of: project, credentials, logger: call.logger) : project.productionBranch
        let guardrail = DeploymentGuardrail.evaluate(
            production: input.isProduction, branch: input.gitSource?.branch, productionBranch: productionBranch)
        let override = try DeploymentOverrides.pass(
            guardrail, token: input.overrideToken, action: "deploy", project: project.projectID, call: call,
            context: context)
        let deployment: DeploymentRecord
        var uploaded: UploadReport?
        do {
            (deployment, uploaded) = try context.deploys.deploying(
                project, production: input.isProduction, createdBy: call.caller.userID, under: attempt
            ) { attempt in
                if let source = input.gitSource {
                    let made = try context.deploys.createGitDeployment(
                        of: project, production: input.isProduction,
                        source: .init(branch: source.branch, commitSha: source.commitSha, prNumber: source.prNumber),
                        credentials: credentials, createdBy: call.caller.userID,
                        logger: call.logger, idempotency: idempotency, attempt: attempt)
                    guard let made else { throw DeploymentsError.noGitRepository }
                    return (made, nil)
                }
                guard let root = context.configuration.deployments.projectsRoot else {
                    throw DeploymentsError.projectFilesUnavailable
                }
                let files = try ProjectFiles.read(root + "/" + project.projectID.uuidString.lowercased())
                let request = VercelDeploymentRequest(
                    name: project.vercelProjectName, project: project.vercelProjectID,
                    target: input.isProduction ? "production" : nil,
                    meta: [
                        "sheenProjectId": project.projectID.uuidString.lowercased(),
                        DeployAttemptStore.metaKey: attempt.metaValue,
                    ])
                let outcome = try context.vercel.deployFiles(files, as: request, credentials)
                let recorded = try context.deployments(logger: call.logger).recordCreated(
                    outcome.deployment, of: project,
                    origin: .init(
                        production: input.isProduction, gitSource: nil, createdBy: call.caller.userID,
                        idempotency: idempotency,
                        upload: (outcome.report.filesUploaded, outcome.report.bytesUploaded),
                        uploadAudit: UploadAudit.summarize(files.map { ($0.path, $0.bytes.count) }),
                        attempt: attempt.id))
                context.deploymentChecks.registerCreated(
                    recorded, of: project, credentials: credentials, logger: call.logger)
                return (recorded, outcome.report)
            }
        } catch {
            override.map(context.overrides.refund)
            throw error
        }
        call.logger.info(
            "deployment created",
            metadata: [
                "deployment.id": "\(deployment.deploymentID)", "project.id": "\(project.projectID)",
                "deployment.type": "\(deployment.type)",
                "files.uploaded": .stringConvertible(uploaded?.filesUploaded ?? 0),
            ])
        return Accepted(deployment, replayed: false, upload: uploaded)
    }
}
