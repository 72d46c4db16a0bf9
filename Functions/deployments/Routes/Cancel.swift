import FastCGI
import Platform
import PlatformHost
import Vercel

/// `DELETE /v1/projects/:projectId/vercel/deployments/:deploymentId`: cancels a build. A deployment
/// the lifecycle has ended (ERROR, CANCELED) is 409 without asking Vercel; otherwise Vercel decides
/// (it cancels only what is still building) and its answer moves the stored state as the lifecycle
/// allows.
enum Cancel {
    struct Canceled: Encodable {
        let canceled: Bool
        let deployment: DeploymentRecord
    }

    private struct AuditDetails: Encodable {
        let deploymentId: String
        let state: String
    }

    @Sendable static func cancel(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        let project = try call.linkedProject()
        let store = context.deployments(logger: call.logger)
        guard let deployment = try store.find(try call.deploymentID(), projectID: call.projectID) else {
            throw DeploymentsError.deploymentNotFound
        }
        guard deployment.state.canMove(to: .canceled) else {
            throw DeploymentsError.deploymentNotCancelable(state: deployment.state.rawValue)
        }
        let credentials = try context.vercelCredentials(
            for: call, connection: project.connectionID, requiring: .writeDeployment)
        let attempt = Result { () throws(VercelError) -> VercelDeployment in
            try context.vercel.cancelDeployment(deployment.deploymentID, credentials)
        }
        guard case .success(let canceled) = attempt else {
            if case .failure(let error) = attempt, !Self.isRefusal(error) { throw error }
            // Vercel refuses to cancel what has finished: learn where it is instead.
            let current = try context.vercel.deployment(
                deployment.deploymentID, credentials)
            let stored = try store.applyReported(current, projectID: call.projectID) ?? deployment
            throw DeploymentsError.deploymentNotCancelable(state: stored.state.rawValue)
        }
        let stored = try store.applyReported(canceled, projectID: call.projectID) ?? deployment
        try context.audit.record(
            .deploymentCanceled, severity: .low, actor: call.caller.userID, project: call.projectID,
            details: AuditDetails(deploymentId: deployment.deploymentID, state: stored.state.rawValue))
        return .json(Canceled(canceled: stored.state == .canceled, deployment: stored))
    }

    static func isRefusal(_ error: VercelError) -> Bool {
        if case .api(let status, _, _) = error { return status == 400 || status == 409 }
        return false
    }
}
