import FastCGI
import Logging
import Platform
import Vercel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `POST /v1/webhooks/git/{github,gitlab,bitbucket}`: a push or pull request of a repository a
/// project deploys from. The delivery's proof is checked over the exact body against the secret of
/// each project configured with the repository, before anything else of the body is used; only
/// the projects whose secret proves it act on it. Each change it carries is decided by the
/// project's auto-deploy rules and recorded once per delivery id, with the deployment, the
/// approval it waits for, or why nothing deployed.
enum GitWebhook {
    static let bodyLimit = 1 << 20

    struct Received: Encodable {
        let received = true
        let decisions: [Decision]

        struct Decision: Encodable {
            let projectId: String
            let decision: String
            let reason: String
            let deploymentId: String?
            let approvalId: String?
        }
    }

    static func handler(_ provider: GitProvider) -> @Sendable (Request, RequestContext) throws -> Response {
        { request, context in try handle(provider, request, context) }
    }

    static func handle(_ provider: GitProvider, _ request: Request, _ context: RequestContext) throws -> Response {
        let repositories = GitRepositoryStore(database: context.database, keyRing: context.configuration.keyRing)
        let candidates =
            try GitDelivery.repositoryName(provider, body: request.body).flatMap { name in
                (3...255).contains(name.utf8.count) ? try repositories.candidates(provider, repository: name) : nil
            } ?? []
        let proven = candidates.filter { provider.proves(request.headers, body: request.body, secrets: $0.secrets) }
        guard !proven.isEmpty else {
            try repositories.refused(candidates.map(\.credentialID))
            count(provider, "refused")
            request.logger.warning(
                "git webhook refused",
                metadata: ["git.provider": "\(provider.rawValue)", "projects": "\(candidates.count)"])
            throw WebhookError.gitProofMissing
        }
        guard let deliveryID = request.headers[provider.deliveryHeader], (1...255).contains(deliveryID.utf8.count),
            deliveryID.utf8.allSatisfy({ (0x21...0x7e).contains($0) })
        else { throw WebhookError.gitDeliveryIDMissing(provider.deliveryHeader) }
        let eventName = request.headers[provider.eventHeader] ?? ""
        guard (1...100).contains(eventName.utf8.count),
            let delivery = GitDelivery.parse(provider, event: eventName, body: request.body)
        else {
            count(provider, "invalid")
            throw WebhookError.invalidGitEvent
        }
        var decisions: [Received.Decision] = []
        for candidate in proven {
            let receiver = GitDeliveryReceiver(
                context: context, projectID: candidate.projectID, logger: request.logger,
                correlationID: request.requestID)
            for event in try receiver.receive(delivery, deliveryID: deliveryID) {
                count(provider, event.decision)
                decisions.append(
                    .init(
                        projectId: candidate.projectID.uuidString.lowercased(), decision: event.decision,
                        reason: event.reason, deploymentId: event.deploymentID,
                        approvalId: event.approvalID?.uuidString.lowercased()))
            }
        }
        request.logger.info(
            "git webhook",
            metadata: [
                "git.provider": "\(provider.rawValue)", "git.delivery": "\(deliveryID)", "git.event": "\(eventName)",
                "git.decisions": "\(decisions.map(\.decision).joined(separator: ","))",
            ])
        return .json(Received(decisions: decisions))
    }

    static func count(_ provider: GitProvider, _ outcome: String) {
        Metrics.shared.increment(
            "sheen_vercel_webhook_events_total", [("source", provider.rawValue), ("outcome", outcome)])
    }
}

/// Decides and records what one proven delivery does for one project.
struct GitDeliveryReceiver {
    let context: RequestContext
    let projectID: UUID
    let logger: Logger
    let correlationID: String

    var store: AutoDeployStore { AutoDeployStore(database: context.database) }

    /// The decisions recorded for the delivery's changes; a delivery seen before (or being handled
    /// by a concurrent redelivery) decides nothing again and answers `duplicate`.
    func receive(_ delivery: GitDelivery, deliveryID: String) throws -> [AutoDeployStore.Event] {
        let lock = "vercel.git-delivery:\(projectID):\(delivery.provider.rawValue):\(deliveryID)"
        let decided = try context.database.withAdvisoryLockIfFree(lock) { () throws -> [AutoDeployStore.Event]? in
            guard try !store.seen(delivery.provider, deliveryID, projectID: projectID) else { return nil }
            var events: [AutoDeployStore.Event] = []
            for (item, change) in delivery.changes.enumerated() {
                var event = try decide(change, of: delivery)
                event.deliveryID = deliveryID
                event.item = item
                try store.record(event, projectID: projectID, correlationID: correlationID)
                events.append(event)
            }
            return events
        }
        guard let attempt = decided, let events = attempt else {
            return [
                .init(
                    provider: delivery.provider, deliveryID: deliveryID, item: 0, change: .init(kind: delivery.event),
                    decision: "duplicate", reason: "this delivery was received before")
            ]
        }
        return events
    }

    func decide(_ change: GitDelivery.Change, of delivery: GitDelivery) throws -> AutoDeployStore.Event {
        func event(_ decision: String, _ reason: String) -> AutoDeployStore.Event {
            .init(
                provider: delivery.provider, deliveryID: "", item: 0, change: change, decision: decision, reason: reason
            )
        }
        if let ignored = change.ignored { return event("ignored", ignored) }
        guard let branch = change.branch, GitRef.isValidBranch(branch) else {
            return event("ignored", "the delivery names no valid branch")
        }
        guard let sha = change.commitSha, AutoDeployStore.isValidSha(sha) else {
            return event("ignored", "the delivery names no valid commit")
        }
        guard let repository = delivery.repository else { return event("ignored", "the delivery names no repository") }
        guard let project = try context.projectLinks.find(projectID),
            let owner = try context.projectLinks.owner(projectID),
            let settings = try store.settings(projectID)
        else { return event("ignored", "the project is not linked to a Vercel project") }
        if let marker = AutoDeployPolicy.skipMarker(in: change.commitMessage) {
            return event("skipped", "the head commit's message says \(marker)")
        }
        let policy = AutoDeployPolicy.evaluate(branch: branch, settings: settings, rules: try store.rules(projectID))
        guard policy.wouldDeploy, let policyTarget = policy.target else { return event("skipped", policy.reason) }
        // A pull request builds a preview of its head, whatever the branch's rule targets.
        let target = change.prNumber == nil ? policyTarget : "preview"
        let commit = GitCommit(
            provider: delivery.provider, repository: repository, branch: branch, sha: sha, prNumber: change.prNumber,
            committedAt: change.committedAt, target: target)
        if change.fromFork || policy.requiresApproval {
            let reason =
                change.fromFork
                ? "a pull request from a fork waits for approval: its code would run with this project's environment"
                : "\(policy.reason), and it requires approval"
            let approval = try store.requestApproval(
                projectID: projectID, provider: delivery.provider, repository: repository, change: change, sha: sha,
                target: target, reason: reason, correlationID: correlationID)
            var waiting = event("waiting_approval", reason)
            waiting.target = target
            waiting.approvalID = approval.id
            return waiting
        }
        var result = event("failed", "")
        result.target = target
        do {
            let credentials = try context.ownerCredentials(
                of: project, owner: owner, correlationID: correlationID, logger: logger)
            switch try context.deployCommit(
                commit, of: project, credentials: credentials, createdBy: owner, correlationID: correlationID,
                logger: logger)
            {
            case .deployed(let deployment, let replayed):
                result.decision = "deployed"
                result.reason =
                    replayed
                    ? "this commit was deployed for \(target) already (\(policy.reason))"
                    : "\(policy.reason); deploying to \(target)"
                result.deploymentID = deployment.deploymentID
            case .blocked(let warnings):
                result.decision = "skipped"
                result.reason = "blocked by the production guardrail: " + warnings.joined(separator: "; ")
            case .noRepository:
                result.decision = "skipped"
                result.reason = "the Vercel project is not connected to a git repository Vercel can build"
            case .busy:
                result.decision = "deployed"
                result.reason = "this commit is being deployed for \(target) by another request"
            }
        } catch let error as PlatformError {
            result.reason = "the project owner's Vercel connection cannot deploy (\(error.code)): reconnect Vercel"
        } catch let error as VercelError {
            result.reason = "Vercel did not deploy it (\(error.code)): \(error.message.prefix(300))"
            logger.warning("git deployment failed", metadata: ["error.detail": "\(error)"])
        }
        return result
    }
}
