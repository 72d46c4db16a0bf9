import Kernel
import Logging
import Vercel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Rollback on its own. Each promotion (the promote route, Vercel's `deployment.promoted`, a
/// production deployment whose smoke checks pass and which Vercel then aliases) starts a watch; the
/// sync job probes the deployment with its project's checks once a minute for the project's window.
/// When as many runs in a row as the project allows have failed, production goes back to the
/// deployment that served before, once, under the project's promotion lock: audited, alerted and
/// recorded as a move. Not when production has moved on since (the user's own promotion wins),
/// not when the one before fails its checks too, not to a deployment rolled back itself; and a
/// commit rolled back is not deployed to production again by auto-deploy.
public struct ProductionWatch {
    let services: WorkerServices

    public init(_ services: WorkerServices) {
        self.services = services
    }

    var store: ProductionWatchStore { ProductionWatchStore(database: services.database) }

    /// `deploymentID` became the project's production; `previous` is the deployment it replaced,
    /// when Vercel said.
    public func promoted(_ deploymentID: String, of project: LinkedProject, previous: String?) throws {
        let started = try store.start(
            deploymentID, projectID: project.projectID, mappingID: project.mappingID, previous: previous)
        if started.superseded > 0 {
            Metrics.shared.increment(.productionWatches, ["superseded"], by: Double(started.superseded))
        }
        if started.started {
            services.logger.info(
                "production watched",
                metadata: ["deployment.id": "\(deploymentID)", "project.id": "\(project.projectID)"])
        }
    }

    /// What one run did.
    public struct Summary: Sendable, Equatable {
        public var probed = 0
        public var rolledBack = 0
        public var ended = 0
    }

    /// Probes the watches due, for as long as `until` allows, each on its own connection's
    /// credentials.
    public func run(until deadline: ContinuousClock.Instant) throws -> Summary {
        var summary = Summary()
        while ContinuousClock.now < deadline, let watch = try store.claimDue(limit: 1).first {
            do {
                try step(watch, &summary)
            } catch {
                try? store.release(watch.deploymentID)
                services.logger.warning(
                    "production watch step failed",
                    metadata: ["deployment.id": "\(watch.deploymentID)", "error.detail": "\(error)"])
            }
        }
        return summary
    }

    private func step(_ watch: ProductionWatchStore.Claimed, _ summary: inout Summary) throws {
        let id = watch.deploymentID
        guard let project = try services.projectLinks.find(watch.projectID) else {
            try finish(id, .superseded, "the project was unlinked", &summary)
            return
        }
        let settings = try services.smokeChecks.settings(mappingID: project.mappingID)
        guard settings.rollback.enabled else {
            try finish(id, .superseded, "rollback on its own was turned off", &summary)
            return
        }
        guard watch.watchUntil > Date() else {
            try finish(id, .passed, nil, &summary)
            return
        }
        let deployments = services.deployments(logger: services.logger)
        guard let deployment = try deployments.find(id, projectID: project.projectID) else {
            try finish(id, .superseded, "the deployment is gone", &summary)
            return
        }
        let results = probe(deployment, settings.checks)
        summary.probed += 1
        guard let failures = try store.probed(id, results: results) else { return }
        guard failures >= settings.rollback.failures else { return }
        let credentials = services.credentials(
            try services.connections.credential(project.connectionID), logger: services.logger)
        // One move of the project's production at a time: a promotion under way is let finish,
        // and this watch is probed again on the next run.
        _ = try services.productionHistory.moving(project.projectID) {
            try decide(
                watch, deployment, of: project, results: results, failures: failures, settings: settings, credentials,
                &summary)
        }
    }

    private func decide(
        _ watch: ProductionWatchStore.Claimed, _ deployment: DeploymentRecord, of project: LinkedProject,
        results: [ProbeResult], failures: Int, settings: SmokeCheckStore.Settings,
        _ credentials: VercelClient.Credentials,
        _ summary: inout Summary
    ) throws {
        let id = watch.deploymentID
        // Still this deployment's to decide: a promotion since superseded the watch.
        guard try store.record(id, projectID: project.projectID)?.status == .watching else { return }
        let state = try services.vercel.productionState(projectID: project.vercelProjectID, credentials)
        if let serving = state.targets?.production?.id, serving != id {
            try finish(id, .superseded, "production moved to \(serving) at Vercel", &summary)
            return
        }
        if try services.vercel.deployment(id, credentials).isStaged {
            try finish(id, .superseded, "Vercel does not serve it as production", &summary)
            return
        }
        guard let previousID = watch.previousDeploymentID,
            let previous = try services.deployments(logger: services.logger).find(
                previousID, projectID: project.projectID)
        else {
            try hold(deployment, of: project, "no deployment served production before it", results, &summary)
            return
        }
        let previousResults = probe(previous, settings.checks)
        guard previousResults.allSatisfy(\.passed) else {
            try hold(
                deployment, of: project, "the deployment before it, \(previousID), fails its checks too", results,
                &summary)
            return
        }
        try services.vercel.rollback(
            deploymentID: previousID, projectID: project.vercelProjectID,
            description: "Smoke checks of \(id) failed \(failures) runs in a row", credentials)
        guard
            case .done(let moved) = try services.vercel.awaitAlias(
                previousID, projectID: project.vercelProjectID, credentials)
        else {
            // Vercel took the rollback but has not finished it: the next run looks again.
            services.logger.warning(
                "rollback not finished at Vercel", metadata: ["deployment.id": "\(id)", "to": "\(previousID)"])
            return
        }
        let reason = "\(failures) runs of its checks in a row failed; production went back to \(previousID)"
        guard try store.end(id, .rolledBack, reason: reason) else { return }
        try services.productionHistory.record(
            .init(
                projectID: project.projectID, vercelProjectID: project.vercelProjectID, deploymentID: previousID,
                url: moved.targets?.production?.url.map(DeploymentStore.https),
                aliases: moved.targets?.production?.alias ?? [], action: "rollback", previousDeploymentID: id,
                actor: nil))
        Metrics.shared.increment(.productionWatches, ["rolled_back"])
        summary.rolledBack += 1
        try alert(
            "deployment.rolled_back", .critical, deployment, of: project,
            Alert(
                deploymentId: id, url: deployment.url, rolledBackTo: previousID, reason: reason, failed: failed(results)
            ))
        services.logger.notice(
            "production rolled back on its own",
            metadata: ["deployment.id": "\(id)", "project.id": "\(project.projectID)", "to": "\(previousID)"])
    }

    private func hold(
        _ deployment: DeploymentRecord, of project: LinkedProject, _ reason: String, _ results: [ProbeResult],
        _ summary: inout Summary
    ) throws {
        guard try store.end(deployment.deploymentID, .held, reason: "failing, not rolled back: \(reason)") else {
            return
        }
        Metrics.shared.increment(.productionWatches, ["held"])
        summary.ended += 1
        try alert(
            "deployment.rollback_held", .critical, deployment, of: project,
            Alert(
                deploymentId: deployment.deploymentID, url: deployment.url, rolledBackTo: nil, reason: reason,
                failed: failed(results)))
    }

    private func finish(
        _ deploymentID: String, _ status: ProductionWatchStore.Status, _ reason: String?, _ summary: inout Summary
    ) throws {
        guard try store.end(deploymentID, status, reason: reason) else { return }
        Metrics.shared.increment(.productionWatches, [status.rawValue])
        summary.ended += 1
    }

    /// The deployment's own host, probed with the project's checks, as its smoke checks were.
    private func probe(_ deployment: DeploymentRecord, _ checks: [SmokeCheck]) -> [ProbeResult] {
        guard let host = deployment.url.flatMap(DeploymentProbe.host(ofDeploymentURL:)) else {
            return [
                ProbeResult(
                    path: "/", status: nil, durationMs: 0, passed: false, reason: "the deployment has no host to probe")
            ]
        }
        return DeploymentProbe(transport: services.makeTransport(), via: services.configuration.deployments.probeVia)
            .run(checks, host: host)
    }

    private func failed(_ results: [ProbeResult]) -> [ProbeResult] { results.filter { !$0.passed } }

    private struct Alert: Encodable {
        let deploymentId: String
        let url: String?
        let rolledBackTo: String?
        let reason: String
        let failed: [ProbeResult]
    }

    private func alert(
        _ type: String, _ severity: AlertOutbox.Severity, _ deployment: DeploymentRecord, of project: LinkedProject,
        _ data: Alert
    ) throws {
        let owner: UUID? = try services.database.query(
            "SELECT owner_id FROM projects WHERE id = \(project.projectID)"
        ).first?.decode("owner_id")
        try services.alerts.enqueue(
            type, severity: severity, userID: owner, projectID: project.projectID, data: data,
            dedupKey: "\(type):\(deployment.deploymentID)")
    }
}

extension WorkerServices {
    public var productionWatch: ProductionWatch { ProductionWatch(self) }
    public var productionWatchStore: ProductionWatchStore { ProductionWatchStore(database: database) }
}
