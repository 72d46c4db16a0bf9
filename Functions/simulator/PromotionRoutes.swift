import FastCGI
import Foundation
import Kernel

/// `POST /v10/projects/{id}/promote/{deploymentId}`, `POST /v1/projects/{id}/rollback/{deploymentId}`
/// and `POST /v2/deployments/{id}/aliases`. Promotion and rollback point the project's production
/// alias at a READY deployment of that project and record `lastAliasRequest` on the project.
enum PromotionRoutes {
    static func add(to router: inout Router<SimulatorState>) {
        router.api("POST", "/v10/projects/:id/promote/:deploymentId") { request, state, caller in
            try move(request, state, caller, type: "promote")
            return Response(status: 202)
        }
        router.api("POST", "/v1/projects/:id/rollback/:deploymentId") { request, state, caller in
            try move(request, state, caller, type: "rollback")
            return Response(status: 201)
        }
        router.api("POST", "/v2/deployments/:id/aliases", assignAlias)
    }

    static func move(_ request: Request, _ state: SimulatorState, _ caller: SimulatedCaller, type: String) throws {
        let project = try ProjectRoutes.find(request.parameter("id") ?? "", caller, state)
        let deployment = try DeploymentRoutes.find(request.parameter("deploymentId") ?? "", caller, state)
        guard deployment.projectId == project.id else {
            throw VercelAPIError.badRequest("The deployment does not belong to this project")
        }
        let now = state.now()
        guard deployment.state(at: now) == "READY" else {
            throw VercelAPIError(
                status: 400, code: "deployment_not_ready", message: "Only a READY deployment can be promoted")
        }
        // A blocking check that has not passed holds production; a rollback goes to a deployment
        // that was in production before, which its checks let through then.
        if type == "promote", state.checks(of: deployment.id).holdsProduction {
            throw VercelAPIError(
                status: 400, code: "deployment_checks_blocking",
                message: "The deployment cannot be promoted until its blocking checks pass")
        }
        defer {
            state.emit(
                type == "promote" ? "deployment.promoted" : "deployment.rollback", deployment, token: caller.token,
                at: now)
        }
        state.with { data in
            guard var current = data.projects[project.id] else { return }
            let alias = "\(current.name).vercel.app"
            let previous = current.targets?.production?.id
            current.targets = .init(production: .init(id: deployment.id, url: deployment.url, alias: [alias]))
            current.lastAliasRequest = .init(
                fromDeploymentId: previous, toDeploymentId: deployment.id, jobStatus: "succeeded", requestedAt: now,
                type: type)
            current.updatedAt = data.tick()
            data.projects[project.id] = current
            // A staged deployment becomes PROMOTED once production points at it.
            if data.deployments[deployment.id]?.promotedAt == nil { data.deployments[deployment.id]?.promotedAt = now }
        }
    }

    struct AliasRequest: Decodable {
        let alias: String
    }

    struct AliasAssigned: Encodable {
        let uid: String
        let alias: String
        let created: String
        let oldDeploymentId: String?
    }

    @Sendable static func assignAlias(
        _ request: Request, _ state: SimulatorState, _ caller: SimulatedCaller
    ) throws -> Response {
        let deployment = try DeploymentRoutes.find(request.parameter("id") ?? "", caller, state)
        let wanted = try request.vercelBody(AliasRequest.self)
        guard DomainRoutes.isValid(wanted.alias.lowercased()) else {
            throw VercelAPIError(
                status: 400, code: "invalid_alias", message: "The alias \"\(wanted.alias)\" is not valid")
        }
        let previous = state.with { data -> String? in
            let old = data.deployments.values.first { $0.ownerID == caller.ownerID && $0.alias.contains(wanted.alias) }
            if let old { data.deployments[old.id]?.alias.removeAll { $0 == wanted.alias } }
            data.deployments[deployment.id]?.alias.append(wanted.alias)
            return old?.id
        }
        return .json(
            AliasAssigned(
                uid: SimulatorState.identifier(""), alias: wanted.alias, created: ISO8601.format(Date()),
                oldDeploymentId: previous))
    }
}
