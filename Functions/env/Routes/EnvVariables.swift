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

    struct VercelOutcome: Encodable {
        /// `applied`, `failed` or `skipped`.
        let status: String
        let error: Nullable<ErrorDetail>

        struct ErrorDetail: Encodable {
            let code: String
            let message: String
        }

        static var skippedLocalOnly: VercelOutcome { VercelOutcome(status: "skipped", error: Nullable(nil)) }

        /// Vercel's refusal or failure, with its code: `AUTH_REQUIRED`, `RATE_LIMITED`, Vercel's own.
        static func failed(_ error: VercelError) -> VercelOutcome {
            if case .api(_, let code, let message) = error {
                return VercelOutcome(status: "failed", error: Nullable(.init(code: code, message: message)))
            }
            return VercelOutcome(status: "failed", error: Nullable(.init(code: error.code, message: error.message)))
        }
    }

    struct Stored: Encodable {
        let variable: Variable
        let vercel: VercelOutcome

        struct Variable: Encodable {
            let key: String
            let target: [String]
            let gitBranch: Nullable<String>
            let type: String
            let valueHash: String
            let masked: String
        }
    }

    private struct AuditDetails: Encodable {
        let key: String
        let targets: [String]
        let type: String?
        let vercel: String
    }

    /// Runs one write of `key` (the platform's value, then Vercel's): never beside another write
    /// of the key, nor beside a sync of the project's variables.
    /// - Throws: 409 `SYNC_IN_PROGRESS` while a sync runs.
    static func writing<T>(
        _ key: String, of projectID: UUID, _ context: WorkerServices, _ body: () throws -> T
    ) throws -> T {
        guard let done = try context.envStore.writing(key, of: projectID, body) else { throw EnvError.syncInProgress }
        return done
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
        let store = context.envStore
        let slots = targets.map { EnvPlan.Slot(key: key, target: $0, gitBranch: input.gitBranch) }
        // The connection is checked first: a refusal there changes nothing.
        let applying = input.localOnly == true ? nil : call.project?.link
        let credentials = try applying.map {
            try context.vercelCredentials(for: call, connection: $0.connectionID, requiring: .writeEnv)
        }
        // One writer of a key at a time, from the platform's value to Vercel's: whatever the
        // interleaving, both sides end with the last writer's value.
        let (hash, outcome) = try writing(key, of: call.projectID, context) {
            let hash = try store.setLocal(input.value, slots: slots, type: type, projectID: call.projectID)
            guard let link = applying, let credentials else { return (hash, VercelOutcome.skippedLocalOnly) }
            return (
                hash,
                try apply(
                    input.value, type: type, slots: slots, hash: hash, link: link, credentials: credentials,
                    call: call, context: context)
            )
        }
        try context.audit.record(
            .envVariableSet, severity: .medium, actor: call.caller.userID, project: call.projectID,
            details: AuditDetails(key: key, targets: targets, type: type, vercel: outcome.status))
        return .json(
            Stored(
                variable: .init(
                    key: key, target: targets, gitBranch: Nullable(input.gitBranch), type: type, valueHash: hash,
                    masked: EnvRules.masked(input.value, type: type)),
                vercel: outcome))
    }

    /// Writes one key's value to Vercel in one call, one variable per target, unless a variable of
    /// another owner holds one of its slots there.
    /// The platform's value is stored by then: whatever Vercel answers is reported, not thrown.
    static func apply(
        _ value: String, type: String, slots: [EnvPlan.Slot], hash: String, link: LinkedProject,
        credentials: VercelClient.Credentials, call: PlatformCall<SetInput>, context: WorkerServices
    ) throws -> VercelOutcome {
        let store = context.envStore
        let states = try store.states(projectID: call.projectID)
        let listed = Result { () throws(VercelError) -> [VercelEnvVariable] in
            try context.vercel.envVariables(projectID: link.vercelProjectID, credentials)
        }
        let remote: [VercelEnvVariable]
        switch listed {
        case .success(let variables): remote = variables
        case .failure(let error): return .failed(error)
        }
        for slot in slots {
            let holder = remote.first { $0.holds(slot) }
            if let holder, !(states[slot]?.owned == true && states[slot]?.base.vercelID == holder.identity) {
                return VercelOutcome(
                    status: "skipped",
                    error: Nullable(
                        .init(
                            code: "NOT_OWNED",
                            message:
                                "Vercel's \(slot.key) for \(slot.target) was not created by this service; sync with adopt to take it over"
                        )))
            }
        }
        let attempt = Result { () throws(VercelError) -> VercelEnvBatchResult in
            try context.vercel.createEnvVariables(
                slots.map {
                    VercelNewEnvVariable(
                        key: $0.key, value: value, type: type, target: [$0.target], gitBranch: $0.gitBranch)
                }, projectID: link.vercelProjectID, upsert: true, credentials)
        }
        switch attempt {
        case .failure(let error):
            return .failed(error)
        case .success(let result):
            var written: [EnvPlan.Slot: VercelEnvVariable] = [:]
            for created in result.created {
                for target in created.target {
                    written[EnvPlan.Slot(key: created.key, target: target, gitBranch: created.gitBranch)] = created
                }
            }
            let unanswered = slots.filter { slot in
                written[slot] == nil && !result.failed.contains { $0.error.key == slot.key }
            }
            let before = unanswered.reduce(into: [EnvPlan.Slot: Int64]()) { before, slot in
                if let held = remote.first(where: { $0.holds(slot) }) {
                    before[slot] = held.updatedAt ?? held.createdAt ?? 0
                }
            }
            written.merge(
                EnvReadBack.written(
                    unanswered, before: before, vercelProjectID: link.vercelProjectID, client: context.vercel,
                    credentials: credentials)
            ) { first, _ in first }
            try store.saveStates(written.mapValues { EnvReadBack.owned(hash: hash, $0) }, projectID: call.projectID)
            if result.failed.isEmpty, let missing = slots.first(where: { written[$0] == nil }) {
                return VercelOutcome(
                    status: "failed",
                    error: Nullable(
                        .init(
                            code: "NOT_CREATED",
                            message: "Vercel did not report \(missing.key) for \(missing.target) written")))
            }
            if let failure = result.failed.first {
                return VercelOutcome(
                    status: "failed",
                    error: Nullable(
                        .init(code: failure.error.code, message: failure.error.message ?? failure.error.code)))
            }
            return VercelOutcome(status: "applied", error: Nullable(nil))
        }
    }

    struct Deleted: Encodable {
        let deleted: Bool
        let vercel: VercelOutcome
    }

    @Sendable static func delete(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        let key = call.parameter("key") ?? ""
        let target = call.query("target")
        let gitBranch = call.query("gitBranch")
        _ = try checked(key: key, targets: target.map { [$0] } ?? ["production"], gitBranch: gitBranch)
        let store = context.envStore
        let applying = call.query("localOnly") == "true" ? nil : call.project?.link
        let credentials = try applying.map {
            try context.vercelCredentials(for: call, connection: $0.connectionID, requiring: .writeEnv)
        }
        let outcome = try writing(key, of: call.projectID, context) {
            let removed = try store.deleteLocal(
                key: key, target: target, gitBranch: gitBranch, projectID: call.projectID)
            var outcome = VercelOutcome.skippedLocalOnly
            if let link = applying, let credentials {
                let states = try store.states(projectID: call.projectID).filter {
                    $0.key.key == key && (target == nil || $0.key.target == target) && $0.key.gitBranch == gitBranch
                        && $0.value.owned
                }
                let listed = Result { () throws(VercelError) -> [VercelEnvVariable] in
                    try context.vercel.envVariables(projectID: link.vercelProjectID, credentials)
                }
                let remote: [VercelEnvVariable]
                switch listed {
                case .success(let variables): remote = variables
                case .failure(let error):
                    outcome = .failed(error)
                    remote = []
                }
                // Only this service's variables, each wholly within the targets deleted.
                let identities = Set(states.values.map(\.base.vercelID))
                let ids = Set(
                    remote.filter { identities.contains($0.identity) && (target == nil || $0.target == [target!]) }
                        .compactMap(\.id))
                if !ids.isEmpty, outcome.status != "failed" {
                    let attempt = Result { () throws(VercelError) -> [String] in
                        try context.vercel.deleteEnvVariables(
                            ids: Array(ids), projectID: link.vercelProjectID, credentials)
                    }
                    switch attempt {
                    case .failure(let error):
                        outcome = .failed(error)
                    case .success:
                        outcome = VercelOutcome(status: "applied", error: Nullable(nil))
                    }
                }
                if outcome.status != "failed", !remote.isEmpty || states.isEmpty {
                    for slot in states.keys { try store.dropState(slot, projectID: call.projectID) }
                }
                if removed == 0, states.isEmpty { throw EnvError.variableNotFound }
            } else if removed == 0 {
                throw EnvError.variableNotFound
            }
            return outcome
        }
        try context.audit.record(
            .envVariableDeleted, severity: .medium, actor: call.caller.userID, project: call.projectID,
            details: AuditDetails(key: key, targets: target.map { [$0] } ?? [], type: nil, vercel: outcome.status))
        return .json(Deleted(deleted: true, vercel: outcome))
    }
}
