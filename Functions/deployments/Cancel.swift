import FastCGI
import Platform
import Vercel

/// `DELETE /v1/projects/:projectId/vercel/deployments/:deploymentId`: cancels a build. A deployment
/// the lifecycle has ended (ERROR, CANCELED) is 409 without asking Vercel; otherwise Vercel decides
/// (it cancels only what is still building) and its answer moves the stored state as the lifecycle
/// allows.
enum Cancel {
    @Sendable static func cancel(_ request: Request, _ context: RequestContext, _ caller: PlatformCaller) throws -> Response {
        let projectID = try request.projectID()
        let project = try LinkedProject.load(projectID, database: context.database)
        let store = DeploymentStore(database: context.database, logger: request.logger)
        let deployment = try store.require(try request.deploymentID(), projectID: projectID)
        guard deployment.state.canMove(to: .canceled) else { throw notCancelable(deployment.state.rawValue) }
        let credentials = try context.vercelCredentials(
            for: caller, connection: project.connectionID, requiring: "deployment:write", correlationID: request.requestID)
        let client = try context.vercel().client
        let attempt = Result { () throws(VercelError) -> VercelDeployment in
            try client.cancelDeployment(deployment.deploymentID, credentials, correlationID: request.requestID)
        }
        guard case .success(let canceled) = attempt else {
            if case .failure(let error) = attempt, !Self.isRefusal(error) { throw error }
            // Vercel refuses to cancel what has finished: learn where it is instead.
            let current = try client.deployment(deployment.deploymentID, credentials, correlationID: request.requestID)
            let stored = try store.applyReported(current, projectID: projectID) ?? deployment
            throw notCancelable(stored.state.rawValue)
        }
        let stored = try store.applyReported(canceled, projectID: projectID) ?? deployment
        try SecurityAudit.record(
            "DEPLOYMENT_CANCELED", severity: "LOW", actor: caller, projectID: projectID.uuidString.lowercased(),
            details: JSONValue.object(["deploymentId": .string(deployment.deploymentID), "state": .string(stored.state.rawValue)]).serializedText,
            correlationID: request.requestID, database: context.database)
        return .json(JSONValue.object(["canceled": .bool(stored.state == .canceled), "deployment": stored.json]))
    }

    static func isRefusal(_ error: VercelError) -> Bool {
        if case .api(let status, _, _) = error { return status == 400 || status == 409 }
        return false
    }

    static func notCancelable(_ state: String) -> HTTPError {
        HTTPError(
            409, code: "DEPLOYMENT_NOT_CANCELABLE", message: "A deployment that is \(state) cannot be canceled",
            extraFields: ["state": .string(state)])
    }
}
