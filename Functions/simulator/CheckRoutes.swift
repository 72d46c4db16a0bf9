import FastCGI
import Foundation
import Kernel

/// A check an integration registered on a deployment (`POST /v1/deployments/{id}/checks`), in the
/// shape of Vercel's `createCheck`/`getCheck` answers.
struct SimulatedCheck: Sendable {
    var id: String
    var deploymentId: String
    var integrationId: String
    var name: String
    var path: String?
    var blocking: Bool
    var rerequestable: Bool
    var detailsUrl: String?
    var externalId: String?
    /// registered, running or completed.
    var status = "registered"
    /// canceled, failed, neutral, succeeded, skipped (or stale, once rerequested).
    var conclusion: String?
    var output: JSONValue?
    var createdAt: Int64
    var updatedAt: Int64
    var completedAt: Int64?

    /// A blocking check holds the production alias until it concludes one of these.
    var letsThrough: Bool {
        !blocking || (status == "completed" && ["succeeded", "neutral", "skipped"].contains(conclusion ?? ""))
    }

    var json: JSONValue {
        var fields: [String: JSONValue] = [
            "id": .string(id), "name": .string(name), "status": .string(status), "blocking": .bool(blocking),
            "integrationId": .string(integrationId), "deploymentId": .string(deploymentId),
            "rerequestable": .bool(rerequestable), "createdAt": .integer(Int(createdAt)),
            "updatedAt": .integer(Int(updatedAt)),
        ]
        if let path { fields["path"] = .string(path) }
        if let conclusion { fields["conclusion"] = .string(conclusion) }
        if let detailsUrl { fields["detailsUrl"] = .string(detailsUrl) }
        if let externalId { fields["externalId"] = .string(externalId) }
        if let output { fields["output"] = output }
        if let completedAt { fields["completedAt"] = .integer(Int(completedAt)) }
        return .object(fields)
    }
}

/// The checks of a deployment, taken together as Vercel reports them on the deployment
/// (`checksState`, `checksConclusion`).
struct SimulatedChecks: Sendable {
    var checks: [SimulatedCheck]

    var state: String? {
        guard !checks.isEmpty else { return nil }
        if checks.allSatisfy({ $0.status == "completed" }) { return "completed" }
        return checks.contains { $0.status == "running" } ? "running" : "registered"
    }

    var conclusion: String? {
        guard state == "completed" else { return nil }
        let conclusions = checks.compactMap(\.conclusion)
        if conclusions.contains("failed") { return "failed" }
        if conclusions.contains("canceled") { return "canceled" }
        if conclusions.allSatisfy({ $0 == "skipped" }) { return "skipped" }
        return "succeeded"
    }

    /// Whether a blocking check still holds the deployment back from production.
    var holdsProduction: Bool { !checks.allSatisfy(\.letsThrough) }
}

/// `POST /v1/deployments/{id}/checks`, `GET …/checks`, `GET`/`PATCH …/checks/{checkId}` and
/// `POST …/checks/{checkId}/rerequest`. A check is registered while the deployment builds; a
/// blocking one holds the production alias (and `deployment.succeeded`) until it concludes
/// `succeeded`, `neutral` or `skipped`.
enum CheckRoutes {
    static func add(to router: inout Router<SimulatorState>) {
        router.api("POST", "/v1/deployments/:id/checks", create)
        router.api("GET", "/v1/deployments/:id/checks") { request, state, caller in
            let deployment = try DeploymentRoutes.find(request.parameter("id") ?? "", caller, state)
            let checks = state.with { $0.checks[deployment.id] ?? [] }
            return .json(JSONValue.object(["checks": .array(checks.map(\.json))]))
        }
        router.api("GET", "/v1/deployments/:id/checks/:checkId") { request, state, caller in
            .json(try find(request, caller, state).json)
        }
        router.api("PATCH", "/v1/deployments/:id/checks/:checkId", update)
        router.api("POST", "/v1/deployments/:id/checks/:checkId/rerequest", rerequest)
    }

    struct CreateBody: Decodable {
        var name: String?
        var path: String?
        var blocking: Bool?
        var detailsUrl: String?
        var externalId: String?
        var rerequestable: Bool?
    }

    /// The integration a token acts for: the simulator has one.
    static let integrationID = "oac_simulated_integration"

    @Sendable static func create(
        _ request: Request, _ state: SimulatorState, _ caller: SimulatedCaller
    ) throws -> Response {
        let deployment = try DeploymentRoutes.find(request.parameter("id") ?? "", caller, state)
        let body = try request.vercelBody(CreateBody.self)
        guard let name = body.name, !name.isEmpty, name.count <= 100 else {
            throw VercelAPIError.badRequest("Invalid request: `name` is required, at most 100 characters")
        }
        guard let blocking = body.blocking else {
            throw VercelAPIError.badRequest("Invalid request: missing required property `blocking`")
        }
        if let path = body.path, path.count > 255 {
            throw VercelAPIError.badRequest("Invalid request: `path` should NOT be longer than 255 characters")
        }
        let now = state.now()
        guard ["QUEUED", "INITIALIZING", "BUILDING"].contains(deployment.state(at: now)) else {
            throw VercelAPIError.badRequest("Cannot create check for finished deployment")
        }
        let check = state.with { data -> SimulatedCheck in
            let stamp = data.tick()
            let check = SimulatedCheck(
                id: SimulatorState.identifier("chk_"), deploymentId: deployment.id, integrationId: integrationID,
                name: name, path: body.path, blocking: blocking, rerequestable: body.rerequestable ?? false,
                detailsUrl: body.detailsUrl, externalId: body.externalId, createdAt: stamp, updatedAt: stamp)
            data.checks[deployment.id, default: []].append(check)
            return check
        }
        // The build's end is announced again, now that a check decides when it succeeds.
        if blocking {
            state.webhooks.withdraw(tag: deployment.id)
            announceBuildEnd(deployment, caller, state)
        }
        return .json(check.json)
    }

    /// The build's end announced again, after a check changed what it sends.
    private static func announceBuildEnd(
        _ deployment: SimulatedDeployment, _ caller: SimulatedCaller, _ state: SimulatorState
    ) {
        let current = state.with { $0.deployments[deployment.id] } ?? deployment
        DeploymentRoutes.announceBuildEnd(
            current, token: caller.token, at: max(current.createdAt + current.buildMs, state.now()), state)
    }

    static func find(
        _ request: Request, _ caller: SimulatedCaller, _ state: SimulatorState
    ) throws -> SimulatedCheck {
        let deployment = try DeploymentRoutes.find(request.parameter("id") ?? "", caller, state)
        let checkID = request.parameter("checkId") ?? ""
        guard let check = state.with({ $0.checks[deployment.id]?.first { $0.id == checkID } }) else {
            throw VercelAPIError.notFound("Check was not found")
        }
        return check
    }

    struct UpdateBody: Decodable {
        var name: String?
        var path: String?
        var status: String?
        var conclusion: String?
        var detailsUrl: String?
        var externalId: String?
        var output: JSONValue?
    }

    /// Vercel answers 413 for an output larger than this.
    static let outputLimit = 16 << 10

    @Sendable static func update(
        _ request: Request, _ state: SimulatorState, _ caller: SimulatedCaller
    ) throws -> Response {
        var check = try find(request, caller, state)
        let body = try request.vercelBody(UpdateBody.self)
        if let status = body.status, !["running", "completed"].contains(status) {
            throw VercelAPIError.badRequest(
                "Invalid request: `status` should be equal to one of the allowed values \"running\", \"completed\"")
        }
        if let conclusion = body.conclusion,
            !["canceled", "failed", "neutral", "succeeded", "skipped"].contains(conclusion)
        {
            throw VercelAPIError.badRequest("Invalid request: `conclusion` is not one of the allowed values")
        }
        if (body.status ?? check.status) == "completed", (body.conclusion ?? check.conclusion) == nil {
            throw VercelAPIError.badRequest("Invalid request: a completed check needs a `conclusion`")
        }
        if let name = body.name, name.isEmpty || name.count > 100 {
            throw VercelAPIError.badRequest("Invalid request: `name` should be 1 to 100 characters")
        }
        if let output = body.output, output.serialized().count > outputLimit {
            throw VercelAPIError(status: 413, code: "payload_too_large", message: "The output provided is too large")
        }
        let deployment = try DeploymentRoutes.find(request.parameter("id") ?? "", caller, state)
        let (updated, released) = state.with { data -> (SimulatedCheck, Bool) in
            let before = SimulatedChecks(checks: data.checks[deployment.id] ?? []).holdsProduction
            let stamp = data.tick()
            if let name = body.name { check.name = name }
            if let path = body.path { check.path = path }
            if let status = body.status { check.status = status }
            if let conclusion = body.conclusion { check.conclusion = conclusion }
            if let detailsUrl = body.detailsUrl { check.detailsUrl = detailsUrl }
            if let externalId = body.externalId { check.externalId = externalId }
            if let output = body.output { check.output = output }
            if check.status == "completed", check.completedAt == nil { check.completedAt = stamp }
            check.updatedAt = stamp
            if let index = data.checks[deployment.id]?.firstIndex(where: { $0.id == check.id }) {
                data.checks[deployment.id]?[index] = check
            }
            let after = SimulatedChecks(checks: data.checks[deployment.id] ?? []).holdsProduction
            return (check, before && !after)
        }
        // The last blocking check through: the deployment has succeeded.
        let now = state.now()
        if released, deployment.state(at: now) == "READY" {
            // A production build Vercel did not only stage takes the project's production domains now.
            if deployment.target == "production", !deployment.staged {
                state.with { data in
                    guard var project = data.projects[deployment.projectId] else { return }
                    project.targets = .init(
                        production: .init(
                            id: deployment.id, url: deployment.url, alias: ["\(project.name).vercel.app"]))
                    project.updatedAt = data.tick()
                    data.projects[deployment.projectId] = project
                }
            }
            state.emit("deployment.succeeded", deployment, token: caller.token, at: now)
        } else if released {
            state.webhooks.withdraw(tag: deployment.id)
            announceBuildEnd(deployment, caller, state)
        }
        return .json(updated.json)
    }

    @Sendable static func rerequest(
        _ request: Request, _ state: SimulatorState, _ caller: SimulatedCaller
    ) throws -> Response {
        let check = try find(request, caller, state)
        guard check.rerequestable else {
            throw VercelAPIError.badRequest("The check is not rerequestable")
        }
        let deployment = try DeploymentRoutes.find(request.parameter("id") ?? "", caller, state)
        state.with { data in
            guard var checks = data.checks[deployment.id], let index = checks.firstIndex(where: { $0.id == check.id })
            else { return }
            checks[index].status = "registered"
            checks[index].conclusion = "stale"
            checks[index].completedAt = nil
            checks[index].updatedAt = data.tick()
            data.checks[deployment.id] = checks
        }
        state.emit(
            "deployment.check-rerequested", deployment, token: caller.token, at: state.now(),
            extra: ["check": .object(["id": .string(check.id), "name": .string(check.name)])])
        return .json(JSONValue.object([:]))
    }
}
