import FastCGI
import Platform
import PlatformHost

/// `POST /v1/projects/:projectId/vercel/deployments/:deploymentId/checks/rerun`: runs a
/// deployment's smoke checks again, once they have concluded (after a fix outside the build: a
/// database that was down, a setting changed). Vercel holds production for the check again until
/// the run, queued here, concludes it.
enum DeploymentCheckRerun {
    struct Accepted: Encodable {
        let checks: DeploymentCheckStore.Record?
        let queued: Bool
    }

    @Sendable static func rerun(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        let deploymentID = try call.deploymentID()
        let project = try call.linkedProject()
        guard try context.deployments(logger: call.logger).find(deploymentID, projectID: call.projectID) != nil
        else { throw DeploymentsError.deploymentNotFound }
        let store = context.deploymentCheckStore
        guard let record = try store.record(deploymentID, projectID: call.projectID) else {
            throw DeploymentsError.checkNotFound
        }
        guard record.status == "completed" else { throw DeploymentsError.checkNotConcluded(status: record.status) }
        let credentials = try context.vercelCredentials(
            for: call, connection: project.connectionID, requiring: .writeDeployment)
        guard try context.deploymentChecks.rerun(deploymentID, projectID: call.projectID, credentials: credentials)
        else {
            let now = try store.record(deploymentID, projectID: call.projectID)
            throw DeploymentsError.checkNotConcluded(status: now?.status ?? "gone")
        }
        call.logger.info("deployment checks rerun", metadata: ["deployment.id": "\(deploymentID)"])
        return .json(
            Accepted(checks: try store.record(deploymentID, projectID: call.projectID), queued: true), status: 202)
    }
}
