import FastCGI
import Foundation

/// `GET /v10/projects/{id}/env`, `POST /v10/projects/{id}/env` (`?upsert=true`, one object or an
/// array), `PATCH /v9/projects/{id}/env/{envId}`, `DELETE /v9/projects/{id}/env/{envId}`.
enum EnvRoutes {
    static let targets: Set<String> = ["production", "preview", "development"]
    static let types: Set<String> = ["plain", "encrypted", "sensitive", "system"]

    static func add(to router: inout Router<SimulatorState>) {
        router.api("GET", "/v10/projects/:id/env") { request, state, caller in
            let project = try ProjectRoutes.find(request.parameter("id") ?? "", caller, state)
            let envs = state.with { data in
                data.envs.values.filter { $0.projectId == project.id }.sorted { $0.createdAt < $1.createdAt }
            }
            return .json(["envs": envs.map(\.listed)])
        }
        router.api("POST", "/v10/projects/:id/env", create)
        router.api("PATCH", "/v9/projects/:id/env/:envId", edit)
        router.api("DELETE", "/v9/projects/:id/env/:envId") { request, state, caller in
            let project = try ProjectRoutes.find(request.parameter("id") ?? "", caller, state)
            let removed = state.with { data -> SimulatedEnv? in
                guard let env = data.envs[request.parameter("envId") ?? ""], env.projectId == project.id else {
                    return nil
                }
                data.envs[env.id] = nil
                return env
            }
            guard let removed else { throw VercelAPIError.notFound("Environment variable not found") }
            return .json(removed.listed)
        }
    }

    struct NewEnv: Decodable {
        var key: String
        var value: String
        var type: String?
        var target: [String]
        var gitBranch: String?
    }

    struct Failure: Encodable {
        let error: Detail
        struct Detail: Encodable {
            let code: String
            let message: String
            let key: String
            let target: [String]
        }
    }

    struct Created: Encodable {
        let created: [SimulatedEnv.Listed]
        let failed: [Failure]
    }

    @Sendable static func create(
        _ request: Request, _ state: SimulatorState, _ caller: SimulatedCaller
    ) throws -> Response {
        let project = try ProjectRoutes.find(request.parameter("id") ?? "", caller, state)
        let upsert = request.query("upsert") == "true"
        let batch: [NewEnv]
        if let many = try? JSONDecoder().decode([NewEnv].self, from: Data(request.body)) {
            batch = many
        } else {
            batch = [try request.vercelBody(NewEnv.self)]
        }
        for env in batch {
            guard isValidKey(env.key), !env.target.isEmpty, Set(env.target).isSubset(of: targets),
                types.contains(env.type ?? "encrypted")
            else {
                throw VercelAPIError.badRequest("Invalid request: `key`, `target` or `type` is not valid")
            }
            guard env.value.utf8.count <= 65_536 else {
                throw VercelAPIError.badRequest("Invalid request: `value` is too long")
            }
        }
        let outcome = state.with { data -> Created in
            var created: [SimulatedEnv.Listed] = []
            var failed: [Failure] = []
            for env in batch {
                let existing = data.envs.values.filter {
                    $0.projectId == project.id && $0.key == env.key && $0.gitBranch == env.gitBranch
                }
                let wanted = Set(env.target)
                if let same = existing.first(where: { Set($0.target) == wanted }) {
                    guard upsert else {
                        failed.append(
                            Failure(
                                error: .init(
                                    code: "ENV_ALREADY_EXISTS",
                                    message:
                                        "A variable with the name `\(env.key)` already exists for the target environments",
                                    key: env.key, target: env.target)))
                        continue
                    }
                    var updated = same
                    updated.value = env.value
                    updated.type = env.type ?? same.type
                    updated.updatedAt = data.tick()
                    data.envs[same.id] = updated
                    created.append(updated.listed)
                } else if existing.contains(where: { !Set($0.target).isDisjoint(with: wanted) }) {
                    failed.append(
                        Failure(
                            error: .init(
                                code: upsert ? "ENV_CONFLICT" : "ENV_ALREADY_EXISTS",
                                message:
                                    "A variable with the name `\(env.key)` already exists for some of the target environments",
                                key: env.key, target: env.target)))
                } else {
                    let now = data.tick()
                    let new = SimulatedEnv(
                        id: SimulatorState.identifier(""), projectId: project.id, key: env.key, value: env.value,
                        type: env.type ?? "encrypted", target: env.target, gitBranch: env.gitBranch, createdAt: now,
                        updatedAt: now)
                    data.envs[new.id] = new
                    created.append(new.listed)
                }
            }
            return Created(created: created, failed: failed)
        }
        return .json(outcome, status: outcome.created.isEmpty && !outcome.failed.isEmpty ? 400 : 201)
    }

    struct Edit: Decodable {
        var value: String?
        var type: String?
        var target: [String]?
    }

    @Sendable static func edit(
        _ request: Request, _ state: SimulatorState, _ caller: SimulatedCaller
    ) throws -> Response {
        let project = try ProjectRoutes.find(request.parameter("id") ?? "", caller, state)
        let change = try request.vercelBody(Edit.self)
        if let target = change.target, target.isEmpty || !Set(target).isSubset(of: targets) {
            throw VercelAPIError.badRequest("Invalid request: `target` is not valid")
        }
        let edited = state.with { data -> SimulatedEnv? in
            guard var env = data.envs[request.parameter("envId") ?? ""], env.projectId == project.id else { return nil }
            env.value = change.value ?? env.value
            env.type = change.type ?? env.type
            env.target = change.target ?? env.target
            env.updatedAt = data.tick()
            data.envs[env.id] = env
            return env
        }
        guard let edited else { throw VercelAPIError.notFound("Environment variable not found") }
        return .json(edited.listed)
    }

    static func isValidKey(_ key: String) -> Bool {
        guard let first = key.utf8.first, (1...256).contains(key.utf8.count) else { return false }
        let isLetter: (UInt8) -> Bool = { ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x61 && $0 <= 0x7a) || $0 == 0x5f }
        return isLetter(first) && key.utf8.allSatisfy { isLetter($0) || ($0 >= 0x30 && $0 <= 0x39) }
    }
}
