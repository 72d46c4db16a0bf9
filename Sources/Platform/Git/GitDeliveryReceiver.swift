import Logging
import Postgres
import Vercel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Decides and records what one proven delivery does for one project: ignored (an event or change
/// that never deploys), skipped (a skip marker, the rules, the guardrail), waiting for approval (a
/// rule that asks for it, or a fork), deployed, or failed (Vercel or the connection could not
/// deploy it then). A failed decision is queued (`git.deploy`) for `vercel-job-git-deploy`, which
/// decides it again, so a delivery is not lost to a moment of Vercel trouble.
public struct GitDeliveryReceiver {
    let context: WorkerServices
    let projectID: UUID
    let logger: Logger

    public init(context: WorkerServices, projectID: UUID, logger: Logger) {
        self.context = context
        self.projectID = projectID
        self.logger = logger
    }

    var store: AutoDeployStore { AutoDeployStore(database: context.database) }

    /// The decisions recorded for the delivery's changes; a delivery seen before answers
    /// `duplicate` and decides nothing again. No lock is held while deciding: what a decision
    /// does is idempotent (one deployment per commit and target, one pending approval per pull
    /// request or branch, one row per item), so a redelivery racing this one changes nothing,
    /// and whichever records an item second answers `duplicate` for it.
    public func receive(_ delivery: GitDelivery, deliveryID: String) throws -> [AutoDeployStore.Event] {
        let duplicate = AutoDeployStore.Event(
            provider: delivery.provider, deliveryID: deliveryID, item: 0, change: .init(kind: delivery.event),
            decision: .duplicate, reason: "this delivery was received before")
        let known = try store.deciding(projectID, provider: delivery.provider, deliveryID: deliveryID)
        guard let known, !known.seen else { return known == nil ? [] : [duplicate] }
        var events: [AutoDeployStore.Event] = []
        for (item, change) in delivery.changes.enumerated() {
            var event = try decide(change, of: delivery, known)
            event.deliveryID = deliveryID
            event.item = item
            let recorded = try store.record(
                event, projectID: projectID, repository: delivery.repository)
            if !recorded {
                event.decision = .duplicate
                event.reason = "this delivery was received before"
            }
            events.append(event)
        }
        return events
    }

    /// Decides a failed delivery again (the retry job): the rules as they are now, then the
    /// approval or the deployment. Nil when the delivery is no longer failed.
    public func retry(_ failed: AutoDeployStore.FailedDelivery) throws -> AutoDeployStore.Event? {
        let lock = "vercel.git-delivery:\(projectID):\(failed.provider.rawValue):\(failed.deliveryID)"
        let outcome = try context.database.withAdvisoryLock(lock) { () throws -> AutoDeployStore.Event? in
            guard try store.isFailed(failed, projectID: projectID),
                let known = try store.deciding(projectID, provider: failed.provider, deliveryID: failed.deliveryID)
            else { return nil }
            var event = try route(failed.change, provider: failed.provider, repository: failed.repository, known)
            event.deliveryID = failed.deliveryID
            event.item = failed.item
            try store.redecide(event, projectID: projectID)
            return event
        }
        return outcome
    }

    func decide(
        _ change: GitDelivery.Change, of delivery: GitDelivery, _ known: AutoDeployStore.Deciding
    ) throws -> AutoDeployStore.Event {
        if let ignored = change.ignored { return event(.ignored, ignored, change, delivery.provider) }
        guard let repository = delivery.repository else {
            return event(.ignored, "the delivery names no repository", change, delivery.provider)
        }
        if let marker = AutoDeployPolicy.skipMarker(in: change.commitMessage) {
            return event(.skipped, "the head commit's message says \(marker)", change, delivery.provider)
        }
        return try route(change, provider: delivery.provider, repository: repository, known)
    }

    func event(
        _ decision: GitDecision, _ reason: String, _ change: GitDelivery.Change, _ provider: GitProvider
    ) -> AutoDeployStore.Event {
        .init(provider: provider, deliveryID: "", item: 0, change: change, decision: decision, reason: reason)
    }

    /// The rules' decision for a change that may deploy, and what follows from it.
    func route(
        _ change: GitDelivery.Change, provider: GitProvider, repository: String, _ known: AutoDeployStore.Deciding
    ) throws -> AutoDeployStore.Event {
        func event(_ decision: GitDecision, _ reason: String) -> AutoDeployStore.Event {
            self.event(decision, reason, change, provider)
        }
        guard let branch = change.branch, GitRef.isValidBranch(branch) else {
            return event(.ignored, "the delivery names no valid branch")
        }
        guard let sha = change.commitSha, AutoDeployStore.isValidSha(sha) else {
            return event(.ignored, "the delivery names no valid commit")
        }
        guard let project = known.link, let owner = known.owner, let settings = known.settings else {
            return event(.ignored, "the project is not linked to a Vercel project")
        }
        let policy = AutoDeployPolicy.evaluate(branch: branch, settings: settings, rules: known.rules)
        guard policy.wouldDeploy, let policyTarget = policy.target else { return event(.skipped, policy.reason) }
        // A pull request builds a preview of its head, whatever the branch's rule targets.
        let target = change.prNumber == nil ? policyTarget : .preview
        // A commit production was rolled back from on its own does not go back there unasked.
        if target == .production,
            let bad = try ProductionWatchStore(database: context.database).rolledBack(
                commitSha: sha, projectID: project.projectID)
        {
            return event(
                .skipped,
                "production was rolled back from this commit's deployment \(bad) when it failed its checks; "
                    + "promote a deployment of it to put it back")
        }
        if change.fromFork || policy.requiresApproval {
            let reason =
                change.fromFork
                ? "a pull request from a fork waits for approval: its code would run with this project's environment"
                : "\(policy.reason), and it requires approval"
            guard
                let approval = try store.requestApproval(
                    projectID: projectID, provider: provider, repository: repository, change: change, sha: sha,
                    target: target, reason: reason)
            else {
                let place = change.prNumber.map { "pull request #\($0)" } ?? "branch \(branch)"
                return event(
                    .skipped, "a newer commit replaced this one on \(place); it never waits for approval again")
            }
            var waiting = event(.waitingApproval, reason)
            waiting.target = target
            waiting.approvalID = approval.id
            return waiting
        }
        let commit = GitCommit(
            provider: provider, repository: repository, branch: branch, sha: sha, prNumber: change.prNumber,
            committedAt: change.committedAt, target: target)
        var result = event(.failed, "")
        result.target = target
        do {
            let credentials = try context.deploys.ownerCredentials(
                of: project, owner: owner, logger: logger)
            switch try context.deploys.deployCommit(
                commit, of: project, credentials: credentials, createdBy: owner,
                logger: logger)
            {
            case .deployed(let deployment, let replayed):
                result.decision = .deployed
                result.reason =
                    replayed
                    ? "this commit was deployed for \(target.rawValue) already (\(policy.reason))"
                    : "\(policy.reason); deploying to \(target.rawValue)"
                result.deploymentID = deployment.deploymentID
            case .blocked(let warnings):
                result.decision = .skipped
                result.reason = "blocked by the production guardrail: " + warnings.joined(separator: "; ")
            case .noRepository:
                result.decision = .skipped
                result.reason = "the Vercel project is not connected to a git repository Vercel can build"
            case .busy:
                result.reason = "another request was deploying this commit; it is tried again"
            }
        } catch PlatformError.projectNotLinked {
            result.decision = .ignored
            result.reason = "the project was unlinked from Vercel"
        } catch let error as PlatformError {
            result.reason = "the project owner's Vercel connection cannot deploy (\(error.code)); reconnect Vercel"
        } catch let error as VercelError {
            result.reason = "Vercel did not deploy it (\(error.code)): \(error.message.prefix(300)); it is tried again"
            logger.warning("git deployment failed", metadata: ["error.detail": "\(error)"])
        }
        return result
    }
}
