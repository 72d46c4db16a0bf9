import FastCGI
import Kernel
import Platform
import PlatformHost
import Vercel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `GET …/env` (both sides, never a value), `PUT …/env/:key` (the platform's value, applied to
/// Vercel at once for a linked project) and `DELETE …/env/:key?target=` (likewise). With
/// `localOnly`, either changes the platform's side alone, for a later sync to carry.
enum EnvVariables {
    struct Row: Encodable {
        let key: String
        let target: [String]
        let gitBranch: Nullable<String>
        let type: String
        let valueHash: Nullable<String>
        let masked: Nullable<String>
        let updatedAt: Nullable<String>
        let source: String
        let status: String
        let owned: Bool
    }

    struct Listed: Encodable {
        let variables: [Row]
        let warnings: [String]
    }

    @Sendable static func list(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        let target = try call.query("target").map { text -> String in
            guard EnvRules.targets.contains(text) else { throw EnvError.invalidTargets }
            return text
        }
        let link = call.project?.link
        let credentials = try link.map {
            try context.vercelCredentials(for: call, connection: $0.connectionID, requiring: .readEnv)
        }
        let store = context.envStore
        let snapshot = try EnvSnapshot.read(
            projectID: call.projectID, link: link, target: target, store: store, client: context.vercel,
            credentials: credentials, needValues: false)
        let present = snapshot.inputs.keys.filter { snapshot.locals[$0] != nil || snapshot.remotes[$0] != nil }
        let rows = present.sorted().map { slot -> Row in
            let input = snapshot.inputs[slot]!
            let local = snapshot.locals[slot]
            let remote = snapshot.remotes[slot]
            return Row(
                key: slot.key, target: [slot.target], gitBranch: Nullable(slot.gitBranch),
                type: local?.type ?? remote?.type ?? "encrypted",
                valueHash: Nullable(input.local?.hash ?? input.remote?.hash),
                masked: Nullable(snapshot.masked(slot, store: store)),
                updatedAt: Nullable(
                    local.map { ISO8601.format($0.updatedAt) }
                        ?? input.remote.map { ISO8601.format(Date(timeIntervalSince1970: Double($0.updatedAt) / 1000)) }
                ),
                source: local != nil && remote != nil ? "both" : local != nil ? "platform" : "vercel",
                status: status(slot, input), owned: input.remote?.owned ?? false)
        }
        return .json(Listed(variables: rows, warnings: EnvSyncService.sizeWarnings(snapshot, store: store)))
    }

    /// `in_sync`, `platform_only`, `vercel_only`, `differs`, `conflict` or `unreadable`.
    static func status(_ slot: EnvPlan.Slot, _ input: EnvPlan.Input) -> String {
        switch (input.local, input.remote) {
        case (nil, nil): return "in_sync"
        case (.some, nil): return "platform_only"
        case (nil, .some): return "vercel_only"
        case (.some(let local), .some(let remote)):
            if remote.hash == local.hash { return "in_sync" }
            let decision = EnvPlan.decide(slot, input, .init(direction: .bidirectional))
            switch decision.action {
            case .inSync: return "in_sync"
            case .conflict: return "conflict"
            default: return remote.hash == nil ? "unreadable" : "differs"
            }
        }
    }

    struct SetInput: Decodable, Sendable {
        let value: String
        let target: [String]
        let type: String?
        let gitBranch: String?
        let localOnly: Bool?
    }

    struct Stored: Encodable {
        let variable: Variable
        let vercel: EnvVariableService.VercelOutcome

        struct Variable: Encodable {
            let key: String
            let target: [String]
            let gitBranch: Nullable<String>
            let type: String
            let valueHash: String
            let masked: String
        }
    }

    /// Checks a key, targets and branch as the routes take them.
    static func checked(key: String, targets: [String], gitBranch: String?) throws -> [String] {
        do {
            try EnvRules.check(key: key)
        } catch {
            throw EnvError.invalidVariable(error)
        }
        guard !targets.isEmpty, targets.count <= 3, Set(targets).count == targets.count,
            targets.allSatisfy(EnvRules.targets.contains)
        else { throw EnvError.invalidTargets }
        if let gitBranch {
            guard EnvRules.isValidGitBranch(gitBranch), targets == ["preview"] else {
                throw EnvError.invalidGitBranch
            }
        }
        return targets
    }

    @Sendable static func set(_ call: PlatformCall<SetInput>, _ context: WorkerServices) throws -> Response {
        let input = call.input
        let key = call.parameter("key") ?? ""
        let type = input.type ?? "encrypted"
        let targets = try checked(key: key, targets: input.target, gitBranch: input.gitBranch)
        do {
            try EnvRules.check(key: key, value: input.value, targets: targets, type: type)
        } catch {
            throw EnvError.invalidVariable(error)
        }
        let slots = targets.map { EnvPlan.Slot(key: key, target: $0, gitBranch: input.gitBranch) }
        // The connection is checked first: a refusal there changes nothing.
        let applying = input.localOnly == true ? nil : call.project?.link
        let credentials = try applying.map {
            try context.vercelCredentials(for: call, connection: $0.connectionID, requiring: .writeEnv)
        }
        switch try context.envVariables.set(
            input.value, type: type, slots: slots, projectID: call.projectID, actor: call.caller.userID,
            link: applying, credentials: credentials)
        {
        case .syncInProgress:
            throw EnvError.syncInProgress
        case .stored(let hash, let outcome):
            return .json(
                Stored(
                    variable: .init(
                        key: key, target: targets, gitBranch: Nullable(input.gitBranch), type: type, valueHash: hash,
                        masked: EnvRules.masked(input.value, type: type)),
                    vercel: outcome))
        }
    }

    struct Deleted: Encodable {
        let deleted: Bool
        let vercel: EnvVariableService.VercelOutcome
    }

    @Sendable static func delete(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        let key = call.parameter("key") ?? ""
        let target = call.query("target")
        let gitBranch = call.query("gitBranch")
        _ = try checked(key: key, targets: target.map { [$0] } ?? ["production"], gitBranch: gitBranch)
        let applying = call.query("localOnly") == "true" ? nil : call.project?.link
        let credentials = try applying.map {
            try context.vercelCredentials(for: call, connection: $0.connectionID, requiring: .writeEnv)
        }
        switch try context.envVariables.delete(
            key, target: target, gitBranch: gitBranch, projectID: call.projectID, actor: call.caller.userID,
            link: applying, credentials: credentials)
        {
        case .syncInProgress: throw EnvError.syncInProgress
        case .notFound: throw EnvError.variableNotFound
        case .deleted(let outcome): return .json(Deleted(deleted: true, vercel: outcome))
        }
    }
}
