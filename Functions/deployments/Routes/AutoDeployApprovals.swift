import FastCGI
import Kernel
import Platform
import PlatformHost

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `…/auto-deploy/approvals` and `…/approvals/:approvalId/approve|deny`: deliveries that wait for
/// the project's owner (a rule that requires approval, or a pull request from a fork). Approval
/// deploys the exact commit the delivery named, through the deploy path with its guardrail and
/// the commit's idempotency key; a newer commit for the same branch or pull request supersedes an
/// older pending approval, and pending approvals expire after seven days.
enum AutoDeployApprovals {
    static let statuses = ["pending", "approved", "denied", "superseded", "expired"]

    struct View: Encodable {
        let approval: AutoDeployStore.Approval

        func encode(to encoder: any Encoder) throws {
            enum Keys: String, CodingKey {
                case id, provider, repository, branch, commitSha, committedAt, prNumber, fromFork, target, reason,
                    status
                case expiresAt, deploymentId, createdAt
            }
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(approval.id.uuidString.lowercased(), forKey: .id)
            try container.encode(approval.provider.rawValue, forKey: .provider)
            try container.encode(approval.repository, forKey: .repository)
            try container.encode(approval.branch, forKey: .branch)
            try container.encode(approval.commitSha, forKey: .commitSha)
            try container.encode(Nullable(approval.committedAt), forKey: .committedAt)
            try container.encode(Nullable(approval.prNumber), forKey: .prNumber)
            try container.encode(approval.fromFork, forKey: .fromFork)
            try container.encode(approval.target, forKey: .target)
            try container.encode(approval.reason, forKey: .reason)
            try container.encode(approval.status, forKey: .status)
            try container.encode(approval.expiresAt, forKey: .expiresAt)
            try container.encode(Nullable(approval.deploymentID), forKey: .deploymentId)
            try container.encode(approval.createdAt, forKey: .createdAt)
        }
    }

    struct Decided: Encodable {
        let approval: View
        let deployment: DeploymentRecord?

        func encode(to encoder: any Encoder) throws {
            enum Keys: String, CodingKey { case approval, deployment }
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(approval, forKey: .approval)
            try container.encode(Nullable(deployment), forKey: .deployment)
        }
    }

    static func store(_ context: WorkerServices) -> AutoDeployStore { context.autoDeploy }

    @Sendable static func list(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        let status = call.query("status")
        if let status, !statuses.contains(status) { throw DeploymentsError.invalidApprovalStatus }
        let approvals = try store(context).approvals(call.projectID, status: status)
        return .json(["approvals": approvals.map(View.init)])
    }

    static func approvalID(_ call: PlatformCall<NoInput>) throws -> UUID {
        guard let text = call.parameter("approvalId"), let id = UUID(uuidString: text) else {
            throw DeploymentsError.approvalNotFound
        }
        return id
    }

    @Sendable static func approve(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        let id = try approvalID(call)
        let project = try call.linkedProject()
        let store = store(context)
        guard let found = try store.approval(id, projectID: project.projectID) else {
            throw DeploymentsError.approvalNotFound
        }
        let credentials = try context.vercelCredentials(
            for: call, connection: project.connectionID, requiring: .writeDeployment)
        guard let approval = try store.decide(id, projectID: project.projectID, approve: true, by: call.caller.userID)
        else { throw DeploymentsError.approvalNotPending(status: found.status) }
        let commit = GitCommit(
            provider: approval.provider, repository: approval.repository, branch: approval.branch,
            sha: approval.commitSha, prNumber: approval.prNumber, committedAt: approval.committedAt,
            target: approval.target)
        let outcome: GitDeployOutcome
        do {
            outcome = try context.deploys.deployCommit(
                commit, of: project, credentials: credentials, createdBy: call.caller.userID, logger: call.logger)
        } catch {
            try store.reopen(id)
            throw error
        }
        switch outcome {
        case .deployed(let deployment, _):
            try store.deployed(id, deploymentID: deployment.deploymentID)
            try context.audit.record(
                .autoDeployApproved, severity: .medium, actor: call.caller.userID, project: project.projectID,
                details: [
                    "approvalId": id.uuidString.lowercased(), "commitSha": approval.commitSha,
                    "deploymentId": deployment.deploymentID, "fromFork": approval.fromFork ? "true" : "false",
                ])
            let stored = try store.approval(id, projectID: project.projectID) ?? approval
            return .json(Decided(approval: View(approval: stored), deployment: deployment))
        case .blocked(let warnings):
            try store.reopen(id)
            throw DeploymentsError.deploymentBlocked(warnings: warnings, overrideRejected: false)
        case .noRepository:
            try store.reopen(id)
            throw DeploymentsError.noGitRepository
        case .busy:
            try store.reopen(id)
            throw DeploymentsError.deployInProgress
        }
    }

    @Sendable static func deny(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        let id = try approvalID(call)
        let project = try call.linkedProject()
        let store = store(context)
        guard let found = try store.approval(id, projectID: project.projectID) else {
            throw DeploymentsError.approvalNotFound
        }
        guard let approval = try store.decide(id, projectID: project.projectID, approve: false, by: call.caller.userID)
        else { throw DeploymentsError.approvalNotPending(status: found.status) }
        try context.audit.record(
            .autoDeployDenied, severity: .low, actor: call.caller.userID, project: project.projectID,
            details: ["approvalId": id.uuidString.lowercased(), "commitSha": approval.commitSha])
        return .json(Decided(approval: View(approval: approval), deployment: nil))
    }
}

/// `GET …/auto-deploy/events`: what each git delivery decided, newest first, with a cursor.
enum AutoDeployEvents {
    struct View: Encodable {
        let event: AutoDeployStore.Event

        func encode(to encoder: any Encoder) throws {
            enum Keys: String, CodingKey {
                case provider, deliveryId, item, kind, branch, commitSha, committedAt, prNumber, fromFork, decision
                case reason, targetEnvironment, deploymentId, approvalId, receivedAt
            }
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(event.provider.rawValue, forKey: .provider)
            try container.encode(event.deliveryID, forKey: .deliveryId)
            try container.encode(event.item, forKey: .item)
            try container.encode(event.change.kind, forKey: .kind)
            try container.encode(Nullable(event.change.branch), forKey: .branch)
            try container.encode(Nullable(event.change.commitSha), forKey: .commitSha)
            try container.encode(Nullable(event.change.committedAt), forKey: .committedAt)
            try container.encode(Nullable(event.change.prNumber), forKey: .prNumber)
            try container.encode(event.change.fromFork, forKey: .fromFork)
            try container.encode(event.decision, forKey: .decision)
            try container.encode(event.reason, forKey: .reason)
            try container.encode(Nullable(event.target), forKey: .targetEnvironment)
            try container.encode(Nullable(event.deploymentID), forKey: .deploymentId)
            try container.encode(Nullable(event.approvalID?.uuidString.lowercased()), forKey: .approvalId)
            try container.encode(Nullable(event.receivedAt), forKey: .receivedAt)
        }
    }

    struct Page: Encodable {
        let events: [View]
        let pagination: Pagination<String>
    }

    @Sendable static func list(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        let limit = try call.limit()
        let cursor = try call.cursor { text in Int64(text).flatMap { $0 > 0 ? $0 : nil } }
        let project = try call.linkedProject()
        let page = try context.autoDeploy.events(
            project.projectID, before: cursor, limit: limit)
        return .json(Page(events: page.events.map(View.init), pagination: Pagination(next: page.next.map { "\($0)" })))
    }
}
