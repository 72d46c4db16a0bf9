import Crypto
import Logging
import Vercel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// What running a deploy under an idempotency key came to.
public enum DeployOnce<Answer> {
    /// Made now, or found made by an earlier request with the same key and request.
    case done(Answer)
    /// The key named a different request before.
    case keyReused
    /// Another request with the key was still deploying when the wait ended.
    case busy
    /// The key's deployment is no longer stored.
    case missing
}

/// Deploying a linked project, whoever asks (the deploy route, an approval, a git delivery, its
/// retry job): once per idempotency key, while the link stands, under an attempt the sync job can
/// settle, past the production guardrail with Vercel's current production branch.
public struct DeployService {
    let services: WorkerServices

    public init(_ services: WorkerServices) {
        self.services = services
    }
}

extension WorkerServices {
    /// Deploying this worker's linked projects.
    public var deploys: DeployService { DeployService(self) }
}

extension DeployService {
    /// Deploys once per idempotency key of a project, whoever asks: the API with the caller's key,
    /// or a git delivery with `git:<provider>:<repo>:<sha>:<target>`. Concurrent requests with one
    /// key wait (up to `wait`) for the first and then get its deployment through `replay`.
    ///
    /// Two round trips before `create` and one after: one statement takes the key's lock and the
    /// link's lock (shared; an unlink takes it exclusively), one reads what the key named before
    /// and, when it named nothing, begins the attempt `create` deploys under (while the link is
    /// seen to be there), and one releases both locks.
    /// - Throws: `PlatformError.projectNotLinked` when the project was unlinked since it was read.
    public func deployOnce<Answer>(
        _ project: LinkedProject, key: String, fingerprint: String, production: Bool, createdBy: UUID,
        wait: Duration, logger: Logger, replay: (DeploymentRecord) -> Answer,
        create: (DeployAttemptStore.Attempt) throws -> Answer
    ) throws -> DeployOnce<Answer> {
        let deadline = ContinuousClock.now + wait
        let keyLock = "vercel.deploy:\(project.projectID):\(key)"
        let attempts = DeployAttemptStore(database: services.database)
        while true {
            let outcome = try services.database.withAdvisoryLocksIfFree(
                keyLock, shared: Self.linkLock(project.projectID)
            ) {
                () throws -> DeployOnce<Answer> in
                switch try attempts.begin(project, production: production, createdBy: createdBy, unlessKey: key) {
                case .named(let deploymentID, let earlier):
                    guard ConstantTime.equals(earlier, fingerprint) else { return .keyReused }
                    guard
                        let deployment = try services.deployments(logger: logger).find(
                            deploymentID, projectID: project.projectID)
                    else { return .missing }
                    return .done(replay(deployment))
                case .unlinked:
                    throw PlatformError.projectNotLinked
                case .begun(let attempt):
                    return .done(try attempts.ending(attempt, unlessMade: { try create(attempt) }))
                }
            }
            if let outcome { return outcome }
            guard ContinuousClock.now < deadline else { return .busy }
            usleep(50_000)
        }
    }

    /// The lock a deployment's creation holds shared, and an unlink exclusively: no deployment is
    /// made at Vercel for a link that is gone, or recorded against one removed meanwhile.
    public static func linkLock(_ projectID: UUID) -> String { "vercel.link:\(projectID)" }

    /// Runs `body` (which creates a deployment at Vercel and records it) while `project`'s link
    /// cannot be removed, once it is known to be still there: a deploy without an idempotency key.
    /// `body` names the attempt it is given in the deployment's `meta` and passes it to
    /// `recordCreated`, which ends it; an attempt left over (no answer from Vercel, or a failure
    /// after it answered) is settled by `vercel-job-deployment-sync`.
    /// - Throws: `PlatformError.projectNotLinked` when it was unlinked since it was read.
    public func whileLinked<T>(
        _ project: LinkedProject, production: Bool, createdBy: UUID,
        _ body: (DeployAttemptStore.Attempt) throws -> T
    ) throws -> T {
        try services.database.withSharedAdvisoryLock(Self.linkLock(project.projectID)) {
            let attempts = DeployAttemptStore(database: services.database)
            guard let attempt = try attempts.begin(project, production: production, createdBy: createdBy) else {
                throw PlatformError.projectNotLinked
            }
            return try attempts.ending(attempt, unlessMade: { try body(attempt) })
        }
    }

    /// Runs `body` under `attempt` when one is begun already (`deployOnce` began it for an
    /// idempotency key), else under one `whileLinked` begins.
    public func deploying<T>(
        _ project: LinkedProject, production: Bool, createdBy: UUID, under attempt: DeployAttemptStore.Attempt?,
        _ body: (DeployAttemptStore.Attempt) throws -> T
    ) throws -> T {
        guard let attempt else { return try whileLinked(project, production: production, createdBy: createdBy, body) }
        return try body(attempt)
    }

    /// Creates a deployment of a git commit (or branch head) of the project's repository at Vercel
    /// under `attempt`, stores it and registers its smoke check. Nil when Vercel's project is connected to no repository it
    /// can build from.
    public func createGitDeployment(
        of project: LinkedProject, production: Bool, source: DeploymentRecord.GitSource,
        credentials: VercelClient.Credentials, createdBy: UUID, logger: Logger,
        idempotency: (key: String, fingerprint: String)?, attempt: DeployAttemptStore.Attempt
    ) throws -> DeploymentRecord? {
        guard let branch = source.branch,
            let gitSource = project.repository?.gitSource(ref: branch, sha: source.commitSha)
        else { return nil }
        var recorded = source
        recorded.provider = source.provider ?? project.repository?.type
        recorded.repository = source.repository ?? project.repository?.fullName
        var request = VercelDeploymentRequest(
            name: project.vercelProjectName, project: project.vercelProjectID,
            target: production ? "production" : nil,
            meta: [
                "sheenProjectId": project.projectID.uuidString.lowercased(),
                DeployAttemptStore.metaKey: attempt.metaValue,
            ])
        request.gitSource = gitSource
        let created = try services.vercel.createDeployment(request, credentials)
        let record = try services.deployments(logger: logger).recordCreated(
            created, of: project,
            origin: .init(
                production: production, gitSource: recorded, createdBy: createdBy,
                idempotency: idempotency, attempt: attempt.id))
        services.deploymentChecks.registerCreated(
            record, of: project, credentials: credentials, logger: logger)
        return record
    }
}
