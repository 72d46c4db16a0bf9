import FastCGI
import Kernel
import Logging
import Platform
import PlatformHost
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
/// approval it waits for, or why nothing deployed (`GitDeliveryReceiver`). 200 when every decision
/// is final, 202 when one failed and was queued for the retry job.
enum GitWebhook {
    static let bodyLimit = 1 << 20

    struct Received: Encodable {
        let received = true
        let decisions: [Decision]

        struct Decision: Encodable {
            let projectId: String
            let decision: GitDecision
            let reason: String
            let deploymentId: String?
            let approvalId: String?
        }
    }

    static func handler(_ provider: GitProvider) -> @Sendable (Request, WorkerServices) throws -> Response {
        { request, context in try handle(provider, request, context) }
    }

    static func handle(_ provider: GitProvider, _ request: Request, _ context: WorkerServices) throws -> Response {
        let repositories = context.gitRepositories
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
                metadata: ["git.provider": "\(provider.rawValue)", "projects": .stringConvertible(candidates.count)])
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
                context: context, projectID: candidate.projectID, logger: request.logger)
            for event in try receiver.receive(delivery, deliveryID: deliveryID) {
                count(provider, event.decision.rawValue)
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
                "git.decisions": "\(decisions.map(\.decision.rawValue).joined(separator: ","))",
            ])
        // A failed decision is queued for retry: the delivery is kept either way.
        return .json(Received(decisions: decisions), status: decisions.contains { $0.decision == .failed } ? 202 : 200)
    }

    static func count(_ provider: GitProvider, _ outcome: String) {
        Metrics.shared.increment(.webhookEvents, [provider.rawValue, outcome])
    }
}
