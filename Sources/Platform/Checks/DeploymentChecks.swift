import Kernel
import Logging
import Vercel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The smoke checks of each deployment, end to end: one blocking check registered with Vercel
/// while the build runs (so Vercel holds the production alias for it), the project's probes run
/// when the deployment is READY, and the check concluded `succeeded` or `failed` with what each
/// probe found. A failure alerts the project's owner.
public struct DeploymentChecks {
    let services: WorkerServices

    /// The check's name at Vercel.
    public static let checkName = "Smoke checks"

    public init(_ services: WorkerServices) {
        self.services = services
    }

    var store: DeploymentCheckStore { DeploymentCheckStore(database: services.database) }

    /// Registers the deployment's check with Vercel, once whoever asks (the deploy paths just after
    /// they create it, the job queued by `deployment.created`). A refusal (the build is over, the
    /// integration may not register checks) leaves it unregistered, with the reason; a failure that
    /// passes is thrown, the claim let go for the next try.
    /// A project that turned its checks off gets none.
    public func register(
        _ deploymentID: String, of project: LinkedProject, credentials: VercelClient.Credentials
    ) throws {
        guard let attempt = try store.claimRegistration(deploymentID, of: project) else { return }
        do {
            try register(deploymentID, attempt: attempt, credentials: credentials)
        } catch {
            try? store.release(deploymentID)
            throw error
        }
    }

    /// Registers a check whose registration `attempt` is claimed; a refusal leaves it
    /// unregistered.
    private func register(_ deploymentID: String, attempt: Int, credentials: VercelClient.Credentials) throws {
        do {
            // A run that died after Vercel registered the check left it there: adopted, not doubled.
            if attempt > 1,
                let earlier = try services.vercel.checks(deploymentID: deploymentID, credentials).first(where: {
                    $0.name == Self.checkName
                })
            {
                try store.registered(deploymentID, checkID: earlier.id)
                return
            }
            let check = try services.vercel.createCheck(
                VercelCheckRequest(name: Self.checkName, blocking: true, rerequestable: true),
                deploymentID: deploymentID, credentials)
            try store.registered(deploymentID, checkID: check.id)
        } catch let error as VercelError where Self.isRefusal(error) {
            try store.unregistered(deploymentID, reason: "Vercel refused the check: \(Self.describe(error))")
            services.logger.notice(
                "deployment check not registered",
                metadata: ["deployment.id": "\(deploymentID)", "error.detail": "\(Self.describe(error))"])
        }
    }

    /// Registers the check of a deployment just created, without failing its deploy: on a failure
    /// that passes, the registration is queued for the sync job.
    public func registerCreated(
        _ deployment: DeploymentRecord, of project: LinkedProject, credentials: VercelClient.Credentials,
        logger: Logger
    ) {
        guard !deployment.isSettled else { return }
        do {
            guard let attempt = try store.claimRegistration(deployment.deploymentID, of: project) else { return }
            try register(deployment.deploymentID, attempt: attempt, credentials: credentials)
        } catch {
            logger.warning(
                "deployment check registration deferred",
                metadata: ["deployment.id": "\(deployment.deploymentID)", "error.detail": "\(error)"])
            try? store.deferRegistration(deployment.deploymentID, projectID: project.projectID)
        }
    }

    /// What running a deployment's checks came to.
    public enum RunOutcome: Equatable, Sendable {
        case concluded(String)
        /// Its registration is still in flight: the run is tried again shortly.
        case waiting
        /// Nothing to run: concluded already, another run holds it, or it is not READY.
        case nothing
    }

    /// Probes a READY deployment with its project's checks and concludes its check, at Vercel when
    /// one is registered, and here.
    public func run(
        _ deployment: DeploymentRecord, of project: LinkedProject, credentials: VercelClient.Credentials
    ) throws -> RunOutcome {
        guard deployment.state == .ready else { return .nothing }
        let settings = try services.smokeChecks.settings(mappingID: project.mappingID)
        // Turned off: only a check registered before is still run, so Vercel does not hold it for good.
        if !settings.enabled, try store.record(deployment.deploymentID, projectID: project.projectID) == nil {
            return .nothing
        }
        let run: DeploymentCheckStore.Run
        switch try store.claimRun(deployment.deploymentID, projectID: project.projectID) {
        case .run(let claimed): run = claimed
        case .registering:
            // A registration whose claim lapsed (its run died) is taken over: a check Vercel made
            // for it is adopted, else Vercel refuses one for the finished build. Then it is run.
            try register(deployment.deploymentID, of: project, credentials: credentials)
            guard case .run(let claimed) = try store.claimRun(deployment.deploymentID, projectID: project.projectID)
            else { return .waiting }
            run = claimed
        case .taken: return .nothing
        }
        let id = deployment.deploymentID
        var checkID = run.checkID
        var reason: String?
        do {
            if let registered = checkID, let refused = try start(registered, deploymentID: id, credentials) {
                // Gone at Vercel (deleted, say): the probes still tell the user how it serves.
                checkID = nil
                reason = refused
            }
            let results: [ProbeResult]
            if let host = deployment.url.flatMap(DeploymentProbe.host(ofDeploymentURL:)) {
                results = DeploymentProbe(
                    transport: services.makeTransport(), via: services.configuration.deployments.probeVia
                ).run(settings.checks, host: host)
            } else {
                results = [
                    ProbeResult(
                        path: "/", status: nil, durationMs: 0, passed: false,
                        reason: "the deployment has no host to probe")
                ]
            }
            let conclusion = results.allSatisfy(\.passed) ? "succeeded" : "failed"
            let earlier = try store.record(id, projectID: project.projectID)?.conclusion
            if let checkID {
                _ = try services.vercel.updateCheck(
                    .completed(conclusion), checkID: checkID, deploymentID: id, credentials)
            }
            try store.concluded(id, conclusion, results: results, reason: reason)
            Metrics.shared.increment(.deploymentChecks, [conclusion])
            if conclusion == "failed" {
                try alertFailure(deployment, project: project, results: results, run: run.number)
            } else if deployment.type == "production", earlier != "succeeded" {
                // Passed for the first time: Vercel lets it take production now, and it is watched.
                try services.productionWatch.promoted(id, of: project, previous: nil)
            }
            services.logger.info(
                "deployment checks concluded",
                metadata: [
                    "deployment.id": "\(id)", "project.id": "\(project.projectID)", "conclusion": "\(conclusion)",
                    "checks": .stringConvertible(results.count),
                ])
            return .concluded(conclusion)
        } catch {
            try? store.release(id)
            throw error
        }
    }

    /// Marks a check running at Vercel; Vercel's refusal when it refuses (the check is gone).
    private func start(
        _ checkID: String, deploymentID: String, _ credentials: VercelClient.Credentials
    ) throws -> String? {
        do {
            _ = try services.vercel.updateCheck(.running, checkID: checkID, deploymentID: deploymentID, credentials)
            return nil
        } catch {
            guard Self.isRefusal(error) else { throw error }
            return "Vercel refused to update the check: \(Self.describe(error))"
        }
    }

    /// Runs a deployment's checks again: the check is reopened and its run queued, then Vercel is
    /// asked to rerun it (it holds production again until the run concludes it). Reopened first, so
    /// the `deployment.check-rerequested` Vercel sends back finds it pending and does nothing more.
    /// False when it has not concluded yet.
    public func rerun(
        _ deploymentID: String, projectID: UUID, credentials: VercelClient.Credentials
    ) throws -> Bool {
        let checkID = try self.checkID(deploymentID)
        guard try store.rerun(deploymentID, projectID: projectID) else { return false }
        if let checkID {
            do {
                try services.vercel.rerequestCheck(checkID: checkID, deploymentID: deploymentID, credentials)
            } catch {
                // The queued run concludes the check at Vercel all the same.
                services.logger.warning(
                    "deployment check not rerequested at Vercel",
                    metadata: ["deployment.id": "\(deploymentID)", "error.detail": "\(error)"])
            }
        }
        return true
    }

    private func checkID(_ deploymentID: String) throws -> String? {
        try services.database.query(
            "SELECT vercel_check_id FROM vercel_deployment_checks WHERE deployment_id = \(deploymentID)"
        ).first?["vercel_check_id"]
    }

    private struct FailedCheck: Encodable {
        let deploymentId: String
        let url: String?
        let target: String
        let failed: [ProbeResult]
    }

    private func alertFailure(
        _ deployment: DeploymentRecord, project: LinkedProject, results: [ProbeResult], run: Int
    ) throws {
        let owner: UUID? = try services.database.query(
            "SELECT owner_id FROM projects WHERE id = \(project.projectID)"
        ).first?.decode("owner_id")
        try services.alerts.enqueue(
            "deployment.check_failed", severity: deployment.type == "production" ? .critical : .warning,
            userID: owner, projectID: project.projectID,
            data: FailedCheck(
                deploymentId: deployment.deploymentID, url: deployment.url, target: deployment.type,
                failed: results.filter { !$0.passed }),
            dedupKey: "deployment.check_failed:\(deployment.deploymentID):\(run)")
    }

    /// A refusal no retry changes: the deployment, the request or the integration's permissions.
    static func isRefusal(_ error: VercelError) -> Bool {
        switch error {
        case .api(let status, _, _): (400..<500).contains(status) && status != 408 && status != 429
        case .forbidden, .unauthorized: true
        default: false
        }
    }

    static func describe(_ error: VercelError) -> String {
        switch error {
        case .api(let status, let code, let message): "\(status) \(code): \(message.prefix(200))"
        case .forbidden(let scope, _): "the integration lacks \(scope)"
        case .unauthorized(let status, _): "\(status) unauthorized"
        default: "\(error)"
        }
    }
}

extension WorkerServices {
    public var deploymentChecks: DeploymentChecks { DeploymentChecks(self) }
    public var deploymentCheckStore: DeploymentCheckStore { DeploymentCheckStore(database: database) }
}
