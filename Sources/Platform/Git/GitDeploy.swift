import Crypto
import Logging
import Vercel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What deploying a commit from git came to.
public enum GitDeployOutcome {
    case deployed(DeploymentRecord, replayed: Bool)
    /// The production guardrail refused it (a production deploy from another branch).
    case blocked(warnings: [String])
    /// Vercel's project is connected to no repository it can build from.
    case noRepository
    /// Another request for the same commit was still deploying when the wait ended.
    case busy
}

/// A commit of a project's repository to deploy, as a delivery or an approval names it.
public struct GitCommit: Sendable {
    public let provider: GitProvider
    public let repository: String
    public let branch: String
    public let sha: String
    public let prNumber: Int?
    public let committedAt: Date?
    public let target: DeployTarget

    public init(
        provider: GitProvider, repository: String, branch: String, sha: String, prNumber: Int?, committedAt: Date?,
        target: DeployTarget
    ) {
        self.provider = provider
        self.repository = repository
        self.branch = branch
        self.sha = sha
        self.prNumber = prNumber
        self.committedAt = committedAt
        self.target = target
    }

    /// `git:<provider>:<repo>:<sha>:<target>`: one deployment per commit and target, whether a push,
    /// a pull request, a redelivery or an approval asks for it. A repository name too long for the
    /// key is replaced by its SHA-256.
    public var idempotencyKey: String {
        let name = repository.lowercased()
        let key = "git:\(provider.rawValue):\(name):\(sha):\(target.rawValue)"
        return key.utf8.count <= 255
            ? key : "git:\(provider.rawValue):\(Digest.sha256Hex(name)):\(sha):\(target.rawValue)"
    }
}

extension DeployService {
    /// How long a git deploy waits for another request deploying the same commit.
    static let gitDeployWait: Duration = .seconds(20)

    /// Deploys `commit` through the path the deploy route takes: the production guardrail (which
    /// no override passes here), Vercel's deployment of the commit, the stored row, and the
    /// idempotency key of the commit so it deploys once.
    public func deployCommit(
        _ commit: GitCommit, of project: LinkedProject, credentials: VercelClient.Credentials, createdBy: UUID,
        logger: Logger
    ) throws -> GitDeployOutcome {
        let production = commit.target == .production
        let productionBranch =
            production ? self.productionBranch(of: project, credentials, logger: logger) : project.productionBranch
        let guardrail = DeploymentGuardrail.evaluate(
            production: production, branch: commit.branch, productionBranch: productionBranch)
        guard !guardrail.isBlocked else { return .blocked(warnings: guardrail.warnings) }
        guard project.repository?.gitSource(ref: commit.branch, sha: commit.sha) != nil else { return .noRepository }
        let key = commit.idempotencyKey
        let fingerprint = Digest.sha256Hex("git\n" + key)
        let source = DeploymentRecord.GitSource(
            branch: commit.branch, commitSha: commit.sha, prNumber: commit.prNumber, provider: commit.provider.rawValue,
            repository: commit.repository, committedAt: commit.committedAt)
        let outcome = try deployOnce(
            project, key: key, fingerprint: fingerprint, production: production, createdBy: createdBy,
            wait: Self.gitDeployWait, logger: logger, replay: { GitDeployOutcome.deployed($0, replayed: true) },
            create: { attempt in
                guard
                    let made = try createGitDeployment(
                        of: project, production: production, source: source, credentials: credentials,
                        createdBy: createdBy, logger: logger,
                        idempotency: (key, fingerprint), attempt: attempt)
                else { throw PlatformError.projectNotLinked }
                logger.info(
                    "git deployment created",
                    metadata: [
                        "deployment.id": "\(made.deploymentID)", "project.id": "\(project.projectID)",
                        "git.provider": "\(commit.provider.rawValue)", "git.sha": "\(commit.sha)",
                    ])
                return .deployed(made, replayed: false)
            })
        switch outcome {
        case .done(let result): return result
        case .busy: return .busy
        // The key is this commit's alone; a stored key with another fingerprint or no deployment
        // left is treated as in progress rather than deploying twice.
        case .keyReused, .missing: return .busy
        }
    }

    /// Credentials of the project owner's connection the project is linked with, for deploying
    /// without a signed request of theirs (a git delivery).
    public func ownerCredentials(
        of project: LinkedProject, owner: UUID, logger: Logger
    ) throws -> VercelClient.Credentials {
        let credential = try services.tokens.usable(
            userID: owner, connectionID: project.connectionID)
        try credential.require(.writeDeployment)
        var credentials = services.credentials(credential, logger: logger)
        credentials.requiredScope = VercelPermission.writeDeployment.description
        return credentials
    }
}
