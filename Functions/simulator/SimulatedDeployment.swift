import FastCGI
import Foundation
import Kernel

/// A deployment whose state follows a clock: QUEUED for the first 20% of its build time,
/// INITIALIZING to 40%, BUILDING to 100%, then READY (or ERROR when it was set to fail), unless
/// it was canceled first.
struct SimulatedDeployment: Sendable {
    var id: String
    var url: String
    var name: String
    var projectId: String
    var ownerID: String
    var target: String?
    var createdAt: Int64
    var buildMs: Int64
    var failsAtBuild: Bool
    var canceledAt: Int64?
    var meta: [String: String]
    var gitSource: [String: JSONScalar]?
    var alias: [String]
    var fileCount: Int
    /// Who made it (the account's user).
    var creatorID: String = ""
    var creatorName: String = ""
    /// A production deployment Vercel only staged (`stagedProduction`): READY with `readySubstate`
    /// STAGED until it is promoted.
    var staged = false
    var promotedAt: Int64?

    /// Vercel's substate of READY: a production deployment is STAGED until promoted, else PROMOTED.
    /// A blocking check that has not passed keeps it STAGED too, until it passes.
    func readySubstate(at now: Int64, checks: SimulatedChecks = SimulatedChecks(checks: [])) -> String? {
        guard target == "production", state(at: now) == "READY" else { return nil }
        if promotedAt != nil { return "PROMOTED" }
        return staged || checks.holdsProduction ? "STAGED" : "PROMOTED"
    }

    enum JSONScalar: Codable, Sendable, Equatable {
        case string(String)
        case number(Int64)

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(Int64.self) {
                self = .number(number)
            } else {
                self = .string(try container.decode(String.self))
            }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .string(let text): try container.encode(text)
            case .number(let number): try container.encode(number)
            }
        }
    }

    func state(at now: Int64) -> String {
        let elapsed = now - createdAt
        if let canceledAt, canceledAt <= now, canceledAt < createdAt + buildMs { return "CANCELED" }
        if elapsed < buildMs / 5 { return "QUEUED" }
        if elapsed < buildMs * 2 / 5 { return "INITIALIZING" }
        if elapsed < buildMs { return "BUILDING" }
        return failsAtBuild ? "ERROR" : "READY"
    }

    /// `POST /v13/deployments` and `GET /v13/deployments/{idOrUrl}`, with every field Vercel's
    /// schema requires of a deployment (`build`, `creator`, `regions`, `type`, `ownerId`, `plan`...).
    func detail(at now: Int64, checks: SimulatedChecks = SimulatedChecks(checks: [])) -> JSONValue {
        let state = state(at: now)
        let aliased = state == "READY" && !checks.holdsProduction
        var fields: [String: JSONValue] = [
            "id": .string(id), "url": .string(url), "name": .string(name), "projectId": .string(projectId),
            "readyState": .string(state), "status": .string(state), "createdAt": .integer(Int(createdAt)),
            "buildingAt": .integer(Int(createdAt + buildMs * 2 / 5)), "bootedAt": .integer(Int(createdAt)),
            "target": target.map { .string($0) } ?? .null,
            "alias": .array((aliased ? alias : []).map { .string($0) }),
            "aliasAssigned": .bool(aliased),
            "aliasError": .null, "meta": .object(meta.mapValues { .string($0) }),
            "inspectorUrl": .string("https://vercel.com/simulated/\(name)/\(id)"),
            "build": .object(["env": .array([])]), "env": .array([]), "createdIn": "iad1",
            "creator": .object(["uid": .string(creatorID), "username": .string(creatorName)]),
            "isInConcurrentBuildsQueue": false, "ownerId": .string(ownerID), "plan": "hobby", "public": false,
            "regions": .array(["iad1"]), "routes": .null, "type": "LAMBDAS", "version": 2,
        ]
        if state == "READY" { fields["ready"] = .integer(Int(createdAt + buildMs)) }
        if let substate = readySubstate(at: now, checks: checks) { fields["readySubstate"] = .string(substate) }
        if let checksState = checks.state { fields["checksState"] = .string(checksState) }
        if let checksConclusion = checks.conclusion { fields["checksConclusion"] = .string(checksConclusion) }
        if let gitSource {
            fields["gitSource"] = .object(
                gitSource.mapValues {
                    switch $0 {
                    case .string(let text): .string(text)
                    case .number(let number): .integer(Int(number))
                    }
                })
        }
        if state == "ERROR" {
            fields["errorCode"] = "BUILD_FAILED"
            fields["errorMessage"] = "Command \"npm run build\" exited with 1"
            fields["errorStep"] = "BUILD"
        }
        return .object(fields)
    }

    /// An item of `GET /v6/deployments`, which names fields as that version does, with those its
    /// schema requires (`creator`, `inspectorUrl`, `type`).
    func summary(at now: Int64) -> JSONValue {
        let state = state(at: now)
        var fields: [String: JSONValue] = [
            "uid": .string(id), "name": .string(name), "url": .string(url), "created": .integer(Int(createdAt)),
            "createdAt": .integer(Int(createdAt)), "state": .string(state), "readyState": .string(state),
            "target": target.map { .string($0) } ?? .null, "projectId": .string(projectId),
            "meta": .object(meta.mapValues { .string($0) }), "type": "LAMBDAS",
            "creator": .object(["uid": .string(creatorID), "username": .string(creatorName)]),
            "inspectorUrl": .string("https://vercel.com/simulated/\(name)/\(id)"),
        ]
        if state == "READY" { fields["ready"] = .integer(Int(createdAt + buildMs)) }
        if let substate = readySubstate(at: now) { fields["readySubstate"] = .string(substate) }
        return .object(fields)
    }
}
