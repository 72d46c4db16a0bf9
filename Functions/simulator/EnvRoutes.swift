import FastCGI
import Foundation
import Kernel

/// `GET /v10/projects/{id}/env`, `POST /v10/projects/{id}/env` (`?upsert=true`, one object or an
/// array), `GET /v1/projects/{id}/env/{envId}` (one value, decrypted unless sensitive),
/// `PATCH /v9/projects/{id}/env/{envId}`, `DELETE /v9/projects/{id}/env/{envId}`, and the batch delete
/// `DELETE /v1/projects/{id}/env` `{ids}`. Sensitive values are never returned. The fault knobs
/// `rateLimitedDeletes` and `envWritesBeforeFailure` act on these.
enum EnvRoutes {
    static let targets: Set<String> = ["production", "preview", "development"]
    static let types: Set<String> = ["plain", "encrypted", "sensitive", "system"]

    static func add(to router: inout Router<SimulatorState>) {
        router.api("GET", "/v10/projects/:id/env") { request, state, caller in
            let project = try ProjectRoutes.find(request.parameter("id") ?? "", caller, state)
            let shapes = state.shapes(caller.token)
            let envs = state.with { data in
                if shapes.has(.envCustomEnvironment),
                    !data.envs.values.contains(where: { $0.projectId == project.id && !$0.customEnvironmentIds.isEmpty }
                    )
                {
                    let now = data.tick()
                    let custom = SimulatedEnv(
                        id: SimulatorState.identifier(""), projectId: project.id, key: "STAGING_ONLY_URL",
                        value: "https://staging.example.com", type: "encrypted", target: [],
                        customEnvironmentIds: [SimulatorState.identifier("env_")], createdAt: now, updatedAt: now)
                    data.envs[custom.id] = custom
                }
                return data.envs.values.filter { $0.projectId == project.id }.sorted { $0.createdAt < $1.createdAt }
            }
            var listed = envs.map { $0.listed(shapes) }
            if shapes.has(.unreadableItem) {
                listed.append(
                    .object(["id": "env_unreadable", "type": "plain", "value": "", "target": .array(["preview"])]))
            }
            return .json(
                JSONValue.object([
                    "envs": .array(listed),
                    "pagination": .object(["count": .integer(envs.count), "next": .null, "prev": .null]),
                ]))
        }
        router.api("POST", "/v10/projects/:id/env") { request, state, caller in
            try write(state, caller, delete: false)
            return try create(request, state, caller)
        }
        router.api("GET", "/v1/projects/:id/env/:envId") { request, state, caller in
            let project = try ProjectRoutes.find(request.parameter("id") ?? "", caller, state)
            guard let env = state.with({ $0.envs[request.parameter("envId") ?? ""] }), env.projectId == project.id
            else { throw VercelAPIError.notFound("Environment variable not found") }
            return .json(env.decrypted(state.shapes(caller.token)))
        }
        router.api("PATCH", "/v9/projects/:id/env/:envId") { request, state, caller in
            try write(state, caller, delete: false)
            return try edit(request, state, caller)
        }
        router.api("DELETE", "/v1/projects/:id/env") { request, state, caller in
            struct Batch: Decodable { let ids: [String] }
            let project = try ProjectRoutes.find(request.parameter("id") ?? "", caller, state)
            let ids = try request.vercelBody(Batch.self).ids
            guard (1...1000).contains(ids.count) else {
                throw VercelAPIError.badRequest("Invalid request: `ids` must hold 1 to 1000 ids")
            }
            try write(state, caller, delete: true)
            let deleted = state.with { data -> [String] in
                ids.filter { id in
                    guard let env = data.envs[id], env.projectId == project.id else { return false }
                    data.envs[id] = nil
                    return true
                }
            }
            return .json(
                JSONValue.object(["deleted": .integer(deleted.count), "ids": .array(deleted.map { .string($0) })]))
        }
        router.api("DELETE", "/v9/projects/:id/env/:envId") { request, state, caller in
            let project = try ProjectRoutes.find(request.parameter("id") ?? "", caller, state)
            try write(state, caller, delete: true)
            let removed = state.with { data -> SimulatedEnv? in
                guard let env = data.envs[request.parameter("envId") ?? ""], env.projectId == project.id else {
                    return nil
                }
                data.envs[env.id] = nil
                return env
            }
            guard let removed else { throw VercelAPIError.notFound("Environment variable not found") }
            return .json(removed.listed(state.shapes(caller.token)))
        }
    }

    /// Applies the write knobs of the caller's account: a delete may be rate limited, and past
    /// `envWritesBeforeFailure` every write fails.
    static func write(_ state: SimulatorState, _ caller: SimulatedCaller, delete: Bool) throws {
        let refusal = state.with { data -> VercelAPIError? in
            var faults = data.faults[caller.token] ?? SimulatorState.Faults()
            defer { data.faults[caller.token] = faults }
            if delete, faults.rateLimitedDeletes > 0 {
                faults.rateLimitedDeletes -= 1
                return VercelAPIError(
                    status: 429, code: "rate_limited", message: "Rate limit exceeded",
                    extra: [
                        "limit": .object([
                            "remaining": 0, "reset": .integer(Int(Date().timeIntervalSince1970) + 1), "total": 60,
                        ])
                    ], headers: [("Retry-After", "1")])
            }
            if faults.envWritesBeforeFailure == 0 {
                return VercelAPIError(
                    status: 500, code: "internal_server_error", message: "An unexpected error occurred")
            }
            if faults.envWritesBeforeFailure > 0 { faults.envWritesBeforeFailure -= 1 }
            return nil
        }
        if let refusal { throw refusal }
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

    struct Created {
        var created: [SimulatedEnv] = []
        var failed: [Failure] = []

        /// `{created, failed}`; `created` one object or left out as the shapes say.
        func json(_ shapes: SimulatedShapes) throws -> JSONValue {
            let failures = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(failed))
            if shapes.has(.envCreatedAbsent) { return .object(["failed": failures]) }
            if shapes.has(.envCreatedObject), created.count == 1 {
                return .object(["created": created[0].listed(shapes), "failed": failures])
            }
            return .object(["created": .array(created.map { $0.listed(shapes) }), "failed": failures])
        }
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
            var created: [SimulatedEnv] = []
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
                    created.append(updated)
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
                    created.append(new)
                }
            }
            return Created(created: created, failed: failed)
        }
        // Every item refused: Vercel answers with its error shape, not with {created, failed}.
        if outcome.created.isEmpty, let first = outcome.failed.first {
            throw VercelAPIError(
                status: 400, code: first.error.code, message: first.error.message,
                extra: ["key": .string(first.error.key)])
        }
        return .json(try outcome.json(state.shapes(caller.token)), status: 201)
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
        return .json(edited.listed(state.shapes(caller.token)))
    }

    static func isValidKey(_ key: String) -> Bool {
        guard let first = key.utf8.first, (1...256).contains(key.utf8.count) else { return false }
        let isLetter: (UInt8) -> Bool = { ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x61 && $0 <= 0x7a) || $0 == 0x5f }
        return isLetter(first) && key.utf8.allSatisfy { isLetter($0) || ($0 >= 0x30 && $0 <= 0x39) }
    }
}
