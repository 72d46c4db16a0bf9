import Crypto
import FastCGI
import Foundation
import Kernel

/// `POST /v2/files`, `POST /v13/deployments`, `GET /v13/deployments/{idOrUrl}`,
/// `GET /v6/deployments` (with `meta-KEY=VALUE` filters), `PATCH /v12/deployments/{id}/cancel`.
enum DeploymentRoutes {
    static func add(to router: inout Router<SimulatorState>) {
        router.api("POST", "/v2/files", upload)
        router.api("POST", "/v13/deployments", create)
        router.api("GET", "/v13/deployments/:idOrUrl") { request, state, caller in
            let now = state.now()
            let deployment = try find(request.parameter("idOrUrl") ?? "", caller, state)
            return .json(deployment.detail(at: now, checks: state.checks(of: deployment.id)))
        }
        router.api("GET", "/v6/deployments", list)
        router.api("PATCH", "/v12/deployments/:id/cancel", cancel)
    }

    /// Stores a file under its SHA-1, which must match the body: 200 with an empty body.
    @Sendable static func upload(
        _ request: Request, _ state: SimulatorState, _ caller: SimulatedCaller
    ) throws -> Response {
        guard let digest = (request.headers["x-vercel-digest"] ?? request.headers["x-now-digest"])?.lowercased(),
            digest.count == 40
        else {
            throw VercelAPIError(status: 400, code: "missing_digest", message: "Missing `x-vercel-digest` header")
        }
        guard Hex.encode(Digest.sha1(request.body)) == digest else {
            throw VercelAPIError(
                status: 400, code: "invalid_digest", message: "The file's SHA1 does not match `x-vercel-digest`")
        }
        state.with { _ = $0.files[caller.ownerID, default: []].insert(digest) }
        return .json(JSONValue.object([:]))
    }

    struct CreateBody: Decodable {
        var name: String?
        var project: String?
        var target: String?
        var files: [File]?
        var gitSource: [String: SimulatedDeployment.JSONScalar]?
        var meta: [String: String]?

        struct File: Decodable {
            var file: String
            var sha: String?
            var size: Int?
        }
    }

    @Sendable static func create(
        _ request: Request, _ state: SimulatorState, _ caller: SimulatedCaller
    ) throws -> Response {
        let body = try request.vercelBody(CreateBody.self)
        guard let name = body.name ?? body.project, !name.isEmpty else {
            throw VercelAPIError.badRequest("Invalid request: missing required property `name`")
        }
        if let target = body.target, !["production", "staging"].contains(target) {
            throw VercelAPIError.badRequest(
                "Invalid request: `target` should be equal to one of the allowed values \"production\", \"staging\"")
        }
        let files = body.files ?? []
        guard files.isEmpty != (body.gitSource == nil) else {
            throw VercelAPIError.badRequest("Invalid request: send either `files` or `gitSource`")
        }
        guard files.count <= 15_000 else {
            throw VercelAPIError.badRequest("Invalid request: too many files (at most 15000)")
        }
        let project = try body.project.map { try ProjectRoutes.find($0, caller, state) }
        let deployment = try state.with { data -> SimulatedDeployment in
            let uploaded = data.files[caller.ownerID] ?? []
            let missing = Array(Set(files.compactMap(\.sha).filter { !uploaded.contains($0) })).sorted()
            if !missing.isEmpty {
                throw VercelAPIError(
                    status: 400, code: "missing_files", message: "Missing files",
                    extra: ["missing": .array(missing.map { .string($0) })])
            }
            var projectID = project?.id
            if projectID == nil {
                projectID = data.projects.values.first { $0.name == name && $0.accountId == caller.ownerID }?.id
            }
            if projectID == nil {
                let now = data.tick()
                let created = SimulatedProject(
                    id: SimulatorState.identifier("prj_"), name: name, accountId: caller.ownerID, framework: nil,
                    nodeVersion: "20.x",
                    buildCommand: nil, outputDirectory: nil, installCommand: nil, devCommand: nil, rootDirectory: nil,
                    createdAt: now, updatedAt: now, link: nil, targets: nil, lastAliasRequest: nil)
                data.projects[created.id] = created
                projectID = created.id
            }
            var faults = data.faults[caller.token] ?? SimulatorState.Faults()
            let fails = faults.failBuilds > 0
            if fails { faults.failBuilds -= 1 }
            data.faults[caller.token] = faults
            let id = SimulatorState.identifier("dpl_")
            let slug = String(id.dropFirst(4).prefix(9)).lowercased()
            let deployment = SimulatedDeployment(
                id: id, url: "\(name)-\(slug).vercel.app", name: name, projectId: projectID!, ownerID: caller.ownerID,
                target: body.target, createdAt: data.tick(), buildMs: Int64(max(faults.buildMs, 10)),
                failsAtBuild: fails,
                canceledAt: nil, meta: body.meta ?? [:], gitSource: body.gitSource,
                alias: body.target == "production" ? ["\(name).vercel.app"] : ["\(name)-git-\(slug).vercel.app"],
                fileCount: files.count, creatorID: caller.account.user.id, creatorName: caller.account.user.username,
                staged: body.target == "production"
                    && (data.shapes[caller.token] ?? SimulatedShapes()).has(.stagedProduction))
            data.deployments[id] = deployment
            return deployment
        }
        state.emit("deployment.created", deployment, token: caller.token, at: deployment.createdAt)
        announceBuildEnd(deployment, token: caller.token, at: deployment.createdAt + deployment.buildMs, state)
        return .json(deployment.detail(at: deployment.createdAt))
    }

    static func find(
        _ idOrUrl: String, _ caller: SimulatedCaller, _ state: SimulatorState
    ) throws -> SimulatedDeployment {
        let host = idOrUrl.replacingOccurrences(of: "https://", with: "")
        let deployment = state.with { data in
            data.deployments[idOrUrl] ?? data.deployments.values.first { $0.url == host }
        }
        guard let deployment, deployment.ownerID == caller.ownerID else {
            throw VercelAPIError.notFound("The deployment was not found")
        }
        return deployment
    }

    @Sendable static func list(
        _ request: Request, _ state: SimulatorState, _ caller: SimulatedCaller
    ) throws -> Response {
        let now = state.now()
        let limit = min(max(Int(request.query("limit") ?? "") ?? 20, 1), 100)
        let until = request.query("until").flatMap { Int64($0) }
        let projectID = request.query("projectId")
        let target = request.query("target")
        let wantedStates = request.query("state").map { Set($0.split(separator: ",").map(String.init)) }
        // `meta-KEY=VALUE`, as Vercel's CLI filters by metadata (`vercel list --meta`): every one must match.
        let wantedMeta = request.queryItems.filter { $0.name.hasPrefix("meta-") }.map {
            (key: String($0.name.dropFirst(5)), value: $0.value)
        }
        let matching = state.with { data in
            data.deployments.values
                .filter { $0.ownerID == caller.ownerID }
                .filter { deployment in projectID.map { deployment.projectId == $0 } ?? true }
                .filter { deployment in target.map { deployment.target == $0 } ?? true }
                .filter { deployment in until.map { deployment.createdAt < $0 } ?? true }
                .filter { deployment in wantedStates.map { $0.contains(deployment.state(at: now)) } ?? true }
                .filter { deployment in wantedMeta.allSatisfy { deployment.meta[$0.key] == $0.value } }
                .sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }
        }
        let page = Array(matching.prefix(limit))
        let next = matching.count > limit ? page.last?.createdAt : nil
        let pagination: JSONValue = .object([
            "count": .integer(page.count), "next": next.map { .integer(Int($0)) } ?? .null,
            "prev": page.first.map { .integer(Int($0.createdAt)) } ?? .null,
        ])
        return .json(
            JSONValue.object(["deployments": .array(page.map { $0.summary(at: now) }), "pagination": pagination]))
    }

    @Sendable static func cancel(
        _ request: Request, _ state: SimulatorState, _ caller: SimulatedCaller
    ) throws -> Response {
        let deployment = try find(request.parameter("id") ?? "", caller, state)
        let now = state.now()
        let current = deployment.state(at: now)
        guard ["QUEUED", "INITIALIZING", "BUILDING"].contains(current) else {
            throw VercelAPIError(
                status: 400, code: "bad_request", message: "Cannot cancel a deployment that is \(current)")
        }
        let canceled = state.with { data -> SimulatedDeployment in
            data.deployments[deployment.id]?.canceledAt = now
            return data.deployments[deployment.id]!
        }
        state.webhooks.withdraw(tag: deployment.id)
        state.emit("deployment.canceled", canceled, token: caller.token, at: now)
        return .json(canceled.detail(at: now))
    }

    /// Ends the build of the deployment `id` now, as if its build time were up: READY (or ERROR
    /// when it was set to fail), its webhooks sent now instead of at the planned end. A test's
    /// long build ends when the test says, not when a busy machine gets round to it. False when
    /// it is not the caller's or is no longer building.
    static func finish(_ id: String, token: String, _ state: SimulatorState) -> Bool {
        let now = state.now()
        let finished = state.with { data -> SimulatedDeployment? in
            guard let account = data.accounts[token], var deployment = data.deployments[id],
                deployment.ownerID == account.user.id || account.teams.contains(where: { $0.id == deployment.ownerID }),
                ["QUEUED", "INITIALIZING", "BUILDING"].contains(deployment.state(at: now))
            else { return nil }
            deployment.buildMs = max(now - deployment.createdAt, 1)
            data.deployments[id] = deployment
            return deployment
        }
        guard let finished else { return false }
        state.webhooks.withdraw(tag: finished.id)
        announceBuildEnd(finished, token: token, at: now, state)
        return true
    }

    /// The webhooks of a build's end at `at`: `deployment.error`, or `deployment.ready` and,
    /// unless a blocking check holds it back, `deployment.succeeded`. Tagged with the deployment,
    /// so a cancel or an earlier end withdraws them.
    static func announceBuildEnd(_ deployment: SimulatedDeployment, token: String, at: Int64, _ state: SimulatorState) {
        if deployment.failsAtBuild {
            state.emit("deployment.error", deployment, token: token, at: at, tag: deployment.id)
            return
        }
        if !state.checks(of: deployment.id).holdsProduction {
            state.emit("deployment.succeeded", deployment, token: token, at: at, tag: deployment.id)
        }
        state.emit("deployment.ready", deployment, token: token, at: at, tag: deployment.id)
    }
}
