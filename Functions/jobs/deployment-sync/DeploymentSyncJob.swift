import Foundation
import Logging
import Platform
import PlatformHost
import Postgres
import Vercel

// vercel-job-deployment-sync (every minute): reads deployments from Vercel where webhooks do not
// tell enough, and runs their smoke checks.
// - A build that ended (`deployment.finalize`, queued when a webhook or a refresh saw it end) is
//   read once: Vercel's error code, message and step, its out-of-memory report, and the build's
//   metrics row (queued and build time, target, framework, outcome, uploads). A READY one has its
//   smoke checks run (`deployment.check` `run`), and a check `deployment.created` asked for is
//   registered with Vercel (`register`) when the deploy paths did not already.
// - A deployment that became production is probed with its project's checks once a minute for the
//   project's window, and production is rolled back to the one before when it keeps failing
//   (`ProductionWatch`).
// - A deployment still in progress after SHEEN_STALE_DEPLOYMENT_MINUTES without news (a webhook was
//   lost) is read again, and recorded as above if it has ended.
// - A deployment begun more than SHEEN_DEPLOY_ATTEMPT_GRACE_SECONDS ago and never recorded (Vercel's
//   answer was lost, or the process died between the two) is looked for at Vercel by its attempt's
//   id in `meta`: recorded when its project is still linked to that Vercel project, cancelled when
//   not. An attempt Vercel made nothing for is ended.
enum DeploymentSyncJob {
    static func main() -> Never {
        OneShotJob.run(
            name: "vercel-job-deployment-sync", settings: { try ServiceConfiguration.fromEnvironment() },
            work: {
                database, logger, configuration in
                let context = WorkerServices(
                    group: "deployment-sync", configuration: configuration, logger: logger, database: database)
                let store = context.deployments(logger: logger)

                /// Reads `deploymentID` from Vercel with its project's connection and records what it says.
                func sync(_ deploymentID: String, projectID: UUID) throws -> Bool {
                    guard let link = try context.projectLinks.find(projectID) else { return false }
                    let credential = try context.connections.credential(link.connectionID)
                    let credentials = context.credentials(credential, logger: logger)
                    let reported = try context.vercel.deployment(deploymentID, credentials)
                    if reported.isBuildOver {
                        try store.recordFinal(reported, projectID: projectID)
                        if reported.readyState == "READY" {
                            try context.deploymentCheckStore.queue(
                                .run, deploymentID: deploymentID, projectID: projectID)
                        }
                    } else {
                        try store.applyReported(reported, projectID: projectID, finalizing: true)
                    }
                    return true
                }

                struct Finalize: Decodable {
                    let deploymentId: String
                    let projectId: UUID
                }
                let queue = JobQueue(kind: DeploymentStore.finalizeKind, database: database)
                var finalized = 0
                var failed = 0
                for job in try queue.claim(limit: 200) {
                    do {
                        let payload = try JSONDecoder().decode(Finalize.self, from: Data(job.payload.utf8))
                        _ = try sync(payload.deploymentId, projectID: payload.projectId)
                        try queue.done(job)
                        finalized += 1
                    } catch {
                        failed += 1
                        try queue.failed(job, reason: "\(error)")
                        logger.warning(
                            "deployment not finalized", metadata: ["job.id": "\(job.id)", "error.detail": "\(error)"])
                    }
                }

                // Checks: registered for deployments made elsewhere, probed once READY. One job at a
                // time, for as long as the run's share allows: each probes for up to 100 s.
                struct CheckStep: Decodable {
                    let action: DeploymentCheckStore.Action
                    let deploymentId: String
                    let projectId: UUID
                }
                let checkQueue = JobQueue(kind: DeploymentCheckStore.jobKind, database: database)
                let checksUntil = ContinuousClock.now + .seconds(40)
                var checksRun = 0
                while ContinuousClock.now < checksUntil, let job = try checkQueue.claim(limit: 1).first {
                    do {
                        let step = try JSONDecoder().decode(CheckStep.self, from: Data(job.payload.utf8))
                        // An unlinked project's deployments are no longer this service's to check.
                        guard let link = try context.projectLinks.find(step.projectId) else {
                            try checkQueue.done(job)
                            continue
                        }
                        let credentials = context.credentials(
                            try context.connections.credential(link.connectionID), logger: logger)
                        switch step.action {
                        case .register:
                            try context.deploymentChecks.register(
                                step.deploymentId, of: link, credentials: credentials)
                            try checkQueue.done(job)
                        case .run:
                            guard let deployment = try store.find(step.deploymentId, projectID: step.projectId) else {
                                try checkQueue.done(job)
                                continue
                            }
                            if try context.deploymentChecks.run(deployment, of: link, credentials: credentials)
                                == .waiting
                            {
                                try checkQueue.failed(job, reason: "its check is still being registered", after: 15)
                            } else {
                                checksRun += 1
                                try checkQueue.done(job)
                            }
                        }
                    } catch {
                        failed += 1
                        try checkQueue.failed(job, reason: "\(error)")
                        logger.warning(
                            "deployment check step failed",
                            metadata: ["job.id": "\(job.id)", "error.detail": "\(error)"])
                    }
                }

                // Production after a promotion: probed once a minute for the project's window, and
                // rolled back on its own when it keeps failing.
                let watched = try context.productionWatch.run(until: ContinuousClock.now + .seconds(30))

                var refreshed = 0
                for stale in try store.stale(olderThan: configuration.deployments.staleAfter, limit: 100) {
                    do {
                        if try sync(stale.deploymentID, projectID: stale.projectID) { refreshed += 1 }
                    } catch {
                        failed += 1
                        logger.warning(
                            "stale deployment not refreshed",
                            metadata: ["deployment.id": "\(stale.deploymentID)", "error.detail": "\(error)"])
                    }
                }
                var adopted = 0
                var cancelled = 0
                let attempts = DeployAttemptStore(database: database)
                for attempt in try attempts.claimLeftOver(olderThan: configuration.deployments.attemptGrace) {
                    do {
                        let credential = try context.connections.credential(attempt.connectionID)
                        let credentials = context.credentials(credential, logger: logger)
                        // A deployment someone deleted at Vercel since is nothing to adopt or cancel.
                        let made = try context.vercel.deployments(
                            projectID: attempt.vercelProjectID, credentials,
                            meta: [(DeployAttemptStore.metaKey, attempt.metaValue)]
                        ).items.filter { ($0.state ?? $0.readyState) != "DELETED" }
                        for summary in made where try store.find(summary.uid, projectID: attempt.projectID) == nil {
                            let metadata: Logger.Metadata = [
                                "deployment.id": "\(summary.uid)", "project.id": "\(attempt.projectID)",
                            ]
                            if let link = try context.projectLinks.find(attempt.projectID),
                                link.vercelProjectID == attempt.vercelProjectID
                            {
                                _ = try store.recordCreated(
                                    try context.vercel.deployment(summary.uid, credentials), of: link,
                                    origin: .init(
                                        production: attempt.production, gitSource: nil, createdBy: attempt.createdBy))
                                adopted += 1
                                logger.notice("unrecorded deployment adopted", metadata: metadata)
                            } else {
                                do {
                                    _ = try context.vercel.cancelDeployment(summary.uid, credentials)
                                    cancelled += 1
                                    logger.notice("deployment of an unlinked project cancelled", metadata: metadata)
                                } catch {
                                    // Built already: nothing runs on it, and no link of this service names it.
                                    logger.warning(
                                        "deployment of an unlinked project not cancelled",
                                        metadata: metadata.merging(["error.detail": "\(error)"]) { $1 })
                                }
                            }
                        }
                        try attempts.end(attempt.id)
                    } catch {
                        failed += 1
                        logger.warning(
                            "deployment attempt not settled",
                            metadata: ["attempt.id": "\(attempt.id)", "error.detail": "\(error)"])
                        // Tried again after its claim ends; given up on after a day (the connection is gone, say).
                        if attempt.startedAt < Date().addingTimeInterval(-86_400) { try? attempts.end(attempt.id) }
                    }
                }
                return [
                    "deployments.finalized": .stringConvertible(finalized),
                    "deployments.checked": .stringConvertible(checksRun),
                    "production.probed": .stringConvertible(watched.probed),
                    "production.rolled_back": .stringConvertible(watched.rolledBack),
                    "deployments.refreshed": .stringConvertible(refreshed),
                    "deployments.adopted": .stringConvertible(adopted),
                    "deployments.cancelled": .stringConvertible(cancelled),
                    "deployments.failed": .stringConvertible(failed),
                ]
            })
    }
}
