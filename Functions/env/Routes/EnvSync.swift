import Crypto
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

/// `POST …/env/sync`: the three-way plan of a target's variables, a dry run that returns it with a
/// confirmation token bound to its digest, and the apply: Vercel's batch calls (an array create with
/// upsert, a batch delete by ids), the base moved only for what Vercel applied, committed batch by
/// batch, so a sync cut off halfway is finished by running it again. One sync per project at a time;
/// production needs the confirmation of a dry run of the very same plan. Never a value in an answer,
/// a log line or the audit row.
enum EnvSync {
    static let pushBatch = 50
    static let deleteBatch = 100

    struct Input: Decodable, Sendable {
        let direction: String
        let target: String
        let gitBranch: String?
        let dryRun: Bool?
        let includePatterns: [String]?
        let excludePatterns: [String]?
        let propagateDeletes: Bool?
        let adopt: Bool?
        let resolutions: [String: String]?
        let confirmationToken: String?
    }

    @Sendable static func sync(_ call: PlatformCall<Input>, _ context: WorkerServices) throws -> Response {
        let link = try call.linkedProject()
        let input = call.input
        guard let direction = EnvPlan.Direction(rawValue: input.direction) else { throw EnvError.invalidDirection }
        guard EnvRules.targets.contains(input.target) else { throw EnvError.invalidTargets }
        if let branch = input.gitBranch {
            guard EnvRules.isValidGitBranch(branch), input.target == "preview" else { throw EnvError.invalidGitBranch }
        }
        for (name, patterns) in [
            ("includePatterns", input.includePatterns), ("excludePatterns", input.excludePatterns),
        ] {
            if let reason = Glob.refusal(list: patterns ?? [], negatable: false) {
                throw EnvError.invalidPatterns("\(name): \(reason)")
            }
        }
        let include = (input.includePatterns ?? []).map(Glob.init)
        let exclude = (input.excludePatterns ?? []).map(Glob.init)
        var resolutions: [String: EnvPlan.Resolution] = [:]
        guard (input.resolutions ?? [:]).count <= 1000 else { throw EnvError.invalidResolutions }
        for (key, side) in input.resolutions ?? [:] {
            guard let resolution = EnvPlan.Resolution(rawValue: side), key.utf8.count <= 256 else {
                throw EnvError.invalidResolutions
            }
            resolutions[key] = resolution
        }
        let options = EnvPlan.Options(
            direction: direction, propagateDeletes: input.propagateDeletes ?? false, adopt: input.adopt ?? false,
            resolutions: resolutions)
        let dryRun = input.dryRun ?? false
        let credentials = try context.vercelCredentials(
            for: call, connection: link.connectionID, requiring: dryRun ? .readEnv : .writeEnv)

        let outcome = try context.database.withAdvisoryLockIfFree(
            EnvStore.syncLock(call.projectID)
        ) { () throws -> SyncAnswer in
            let store = context.env
            let snapshot = try EnvSnapshot.read(
                projectID: call.projectID, link: link, target: input.target, store: store, client: context.vercel,
                credentials: credentials, needValues: direction != .toVercel)
            var inputs: [EnvPlan.Slot: EnvPlan.Input] = [:]
            var excluded: [EnvPlan.Slot] = []
            for (slot, value) in snapshot.inputs where slot.gitBranch == input.gitBranch {
                if matches(slot.key, include: include, exclude: exclude) {
                    inputs[slot] = value
                } else {
                    excluded.append(slot)
                }
            }
            let plan = EnvPlan.plan(inputs, options)
            let digest = digest(plan, inputs)
            var answer = SyncAnswer(
                plan: plan, excluded: excluded.sorted(), snapshot: snapshot, store: store,
                requiresConfirmation: input.target == "production", reads: 1 + snapshot.fetched)
            answer.warnings = EnvVariables.sizeWarnings(snapshot, store: store)
            func withToken(_ answer: SyncAnswer) throws -> SyncAnswer {
                var answer = answer
                let (token, expiresAt) = try store.issueConfirmation(
                    projectID: call.projectID, userID: call.caller.userID, target: input.target,
                    direction: direction.rawValue, planDigest: digest)
                answer.confirmationToken = token
                answer.expiresAt = ISO8601.format(expiresAt)
                return answer
            }
            if dryRun {
                try audit(call, context, answer, dryRun: true)
                return try withToken(answer)
            }
            if let token = input.confirmationToken {
                switch try store.consumeConfirmation(
                    token, projectID: call.projectID, userID: call.caller.userID, target: input.target,
                    direction: direction.rawValue, planDigest: digest)
                {
                case .confirmed: break
                case .invalid: throw EnvError.confirmationInvalid
                case .stale: throw EnvError.planStale(try withToken(answer))
                }
            } else if input.target == "production", plan.contains(where: { $0.action.writes }) {
                throw EnvError.confirmationRequired(try withToken(answer))
            }
            try Applier(
                call: call, context: context, store: store, link: link, credentials: credentials, snapshot: snapshot,
                adopt: options.adopt
            ).apply(plan, into: &answer)
            try audit(call, context, answer, dryRun: false)
            return answer
        }
        guard let outcome else { throw EnvError.syncInProgress }
        return .json(outcome)
    }

    /// Whether `key` is taken: it matches an include pattern (or there are none) and no exclude one.
    static func matches(_ key: String, include: [Glob], exclude: [Glob]) -> Bool {
        (include.isEmpty || include.contains { $0.matches(key) }) && !exclude.contains { $0.matches(key) }
    }

    /// SHA-256 over every change with the hashes and versions of both sides it rests on: a
    /// confirmation binds exactly this.
    static func digest(_ plan: [EnvPlan.Change], _ inputs: [EnvPlan.Slot: EnvPlan.Input]) -> String {
        let lines = plan.map { change -> String in
            let input = inputs[change.slot]
            return [
                change.slot.key, change.slot.target, change.slot.gitBranch ?? "", change.action.rawValue,
                change.reason?.rawValue ?? "", input?.local?.hash ?? "-", input?.remote?.id ?? "-",
                input?.remote?.hash ?? "-", input?.remote.map { String($0.updatedAt) } ?? "-", input?.base?.hash ?? "-",
            ].joined(separator: "|")
        }
        return Digest.sha256Hex(lines.joined(separator: "\n"))
    }

    private struct AuditDetails: Encodable {
        let direction: String
        let target: String
        let dryRun: Bool
        let interrupted: Bool
        let changes: [Entry]

        struct Entry: Encodable {
            let key: String
            let target: String
            let action: String
            let result: String?
        }
    }

    /// One audit row per sync: keys, targets and actions, never a value.
    static func audit(_ call: PlatformCall<Input>, _ context: WorkerServices, _ answer: SyncAnswer, dryRun: Bool) throws
    {
        try context.audit.record(
            dryRun ? .envSyncPlanned : .envSynced, severity: dryRun ? .low : .medium, actor: call.caller.userID,
            project: call.projectID,
            details: AuditDetails(
                direction: call.input.direction, target: call.input.target, dryRun: dryRun,
                interrupted: answer.interrupted,
                changes: answer.changes.filter { $0.action != "in_sync" }.map {
                    .init(key: $0.key, target: $0.target, action: $0.action, result: $0.result)
                }),
            correlationID: call.requestID)
    }
}

extension EnvPlan.Action {
    /// Whether carrying it out changes either side.
    var writes: Bool {
        switch self {
        case .create, .update, .delete, .pull, .deleteLocal: true
        case .inSync, .conflict, .skipped: false
        }
    }

    /// Whether it changes Vercel.
    var writesVercel: Bool { self == .create || self == .update || self == .delete }
}

/// What a sync answers: every change with the hashes and masks of both sides, and once applied
/// what became of each.
struct SyncAnswer: Encodable, Sendable {
    var changes: [ChangeView]
    var requiresConfirmation: Bool
    var confirmationToken: String?
    var expiresAt: String?
    var applied = false
    var interrupted = false
    var vercelCalls: Calls
    /// A target over Vercel's 64 KB per deployment: said, not refused.
    var warnings: [String] = []

    struct Calls: Encodable, Sendable {
        var reads: Int
        var writes = 0
    }

    struct Side: Encodable, Sendable {
        let hash: Nullable<String>
        let masked: Nullable<String>
    }

    struct ChangeView: Encodable, Sendable {
        let key: String
        let target: String
        let gitBranch: Nullable<String>
        let action: String
        let reason: Nullable<String>
        let conflict: Nullable<String>
        let before: Side
        let after: Side
        var result: String?
        var error: String?
    }

    init(
        plan: [EnvPlan.Change], excluded: [EnvPlan.Slot], snapshot: EnvSnapshot, store: EnvStore,
        requiresConfirmation: Bool, reads: Int
    ) {
        func sides(_ slot: EnvPlan.Slot) -> (platform: Side, vercel: Side) {
            let input = snapshot.inputs[slot]
            let localMask = snapshot.locals[slot].flatMap { local in
                (try? store.value(of: local)).map { EnvRules.masked($0, type: local.type) }
            }
            let remoteMask = snapshot.remoteValues[slot].map {
                EnvRules.masked($0, type: snapshot.remotes[slot]?.type ?? "encrypted")
            }
            return (
                Side(hash: Nullable(input?.local?.hash), masked: Nullable(localMask)),
                Side(
                    hash: Nullable(input?.remote?.hash),
                    masked: Nullable(remoteMask ?? (input?.remote != nil ? "****" : nil)))
            )
        }
        changes =
            plan.map { change in
                let (platform, vercel) = sides(change.slot)
                let towardVercel = change.action.writesVercel || change.action == .conflict
                return ChangeView(
                    key: change.slot.key, target: change.slot.target, gitBranch: Nullable(change.slot.gitBranch),
                    action: change.action.rawValue, reason: Nullable(change.reason?.rawValue),
                    conflict: Nullable(change.conflict), before: towardVercel ? vercel : platform,
                    after: towardVercel ? platform : vercel)
            }
            + excluded.map { slot in
                let (platform, vercel) = sides(slot)
                return ChangeView(
                    key: slot.key, target: slot.target, gitBranch: Nullable(slot.gitBranch), action: "skipped",
                    reason: Nullable("excluded"), conflict: Nullable(nil), before: platform, after: vercel)
            }
        self.requiresConfirmation = requiresConfirmation
        vercelCalls = Calls(reads: reads)
    }

    /// As extra fields of an error answer.
    var json: [String: JSONValue] {
        guard let data = try? JSONEncoder().encode(self),
            case .object(let fields)? = try? JSONDecoder().decode(JSONValue.self, from: data)
        else { return [:] }
        return fields
    }
}

/// Carries out a plan: pushes and deletes on Vercel in batches, pulls and local deletes here, and
/// the base of each slot moved only once its change is applied.
struct Applier {
    let call: PlatformCall<EnvSync.Input>
    let context: WorkerServices
    let store: EnvStore
    let link: LinkedProject
    let credentials: VercelClient.Credentials
    let snapshot: EnvSnapshot
    let adopt: Bool

    var projectID: UUID { call.projectID }

    func apply(_ plan: [EnvPlan.Change], into answer: inout SyncAnswer) throws {
        var results: [EnvPlan.Slot: (String, String?)] = [:]
        var interrupted = false
        var writes = 0

        /// A batch Vercel refused, or could not take: a refusal fails its items; anything else
        /// (5xx, 429 past the client's retries, no answer) stops every later write as well.
        func failed(_ slots: [EnvPlan.Slot], _ error: VercelError) {
            if case .api(let status, let code, _) = error, status < 500, status != 429 {
                for slot in slots { results[slot] = ("failed", code) }
            } else {
                interrupted = true
                for slot in slots { results[slot] = ("not_applied", "\(error.code)") }
            }
        }

        let pushes = plan.filter { $0.action == .create || $0.action == .update }.map(\.slot)
        for batch in stride(from: 0, to: pushes.count, by: EnvSync.pushBatch).map({
            Array(pushes[$0..<min($0 + EnvSync.pushBatch, pushes.count)])
        }) {
            guard !interrupted else {
                for slot in batch { results[slot] = ("not_applied", "INTERRUPTED") }
                continue
            }
            let items = try batch.map { slot -> VercelNewEnvVariable in
                let local = snapshot.locals[slot]!
                return VercelNewEnvVariable(
                    key: slot.key, value: try store.value(of: local), type: local.type, target: [slot.target],
                    gitBranch: slot.gitBranch)
            }
            writes += 1
            let attempt = Result { () throws(VercelError) -> VercelEnvBatchResult in
                try context.vercel.createEnvVariables(items, projectID: link.vercelProjectID, upsert: true, credentials)
            }
            switch attempt {
            case .failure(let error): failed(batch, error)
            case .success(let result):
                var written: [EnvPlan.Slot: VercelEnvVariable] = [:]
                for created in result.created {
                    for target in created.target {
                        let slot = EnvPlan.Slot(key: created.key, target: target, gitBranch: created.gitBranch)
                        if batch.contains(slot) { written[slot] = created }
                    }
                }
                for failure in result.failed {
                    for slot in batch where slot.key == failure.error.key && written[slot] == nil {
                        results[slot] = ("failed", failure.error.code)
                    }
                }
                let unanswered = batch.filter { results[$0] == nil && written[$0] == nil }
                written.merge(
                    EnvReadBack.written(
                        unanswered,
                        before: unanswered.reduce(into: [:]) { before, slot in
                            if let remote = snapshot.remotes[slot] {
                                before[slot] = remote.updatedAt ?? remote.createdAt ?? 0
                            }
                        }, vercelProjectID: link.vercelProjectID, client: context.vercel, credentials: credentials)
                ) { first, _ in first }
                var states: [EnvPlan.Slot: EnvStore.State] = [:]
                for (slot, held) in written {
                    guard let local = snapshot.locals[slot] else { continue }
                    states[slot] = EnvReadBack.owned(hash: local.hash, held)
                }
                try store.saveStates(states, projectID: projectID)
                for slot in states.keys { results[slot] = ("applied", nil) }
                for slot in batch where results[slot] == nil { results[slot] = ("failed", "NOT_CREATED") }
            }
        }

        let deletes = plan.filter { $0.action == .delete }.map(\.slot)
        for batch in stride(from: 0, to: deletes.count, by: EnvSync.deleteBatch).map({
            Array(deletes[$0..<min($0 + EnvSync.deleteBatch, deletes.count)])
        }) {
            guard !interrupted else {
                for slot in batch { results[slot] = ("not_applied", "INTERRUPTED") }
                continue
            }
            // A variable Vercel lists without an id cannot be deleted by this service.
            let batch = batch.filter { slot in
                guard snapshot.remotes[slot]?.id == nil else { return true }
                results[slot] = ("failed", "NO_VERCEL_ID")
                return false
            }
            guard !batch.isEmpty else { continue }
            let ids = Array(Set(batch.compactMap { snapshot.remotes[$0]?.id }))
            writes += 1
            let attempt = Result { () throws(VercelError) -> [String] in
                try context.vercel.deleteEnvVariables(ids: ids, projectID: link.vercelProjectID, credentials)
            }
            switch attempt {
            case .failure(let error): failed(batch, error)
            case .success:
                try store.dropStates(batch, projectID: projectID)
                for slot in batch { results[slot] = ("applied", nil) }
            }
        }

        // What both sides agree on is recorded together, after the loop, in one statement each.
        var agreed: [EnvPlan.Slot: EnvStore.State] = [:]
        var gone: [EnvPlan.Slot] = []
        for change in plan {
            let slot = change.slot
            switch change.action {
            case .pull:
                guard let remote = snapshot.remotes[slot], let value = snapshot.remoteValues[slot] else {
                    results[slot] = ("failed", "UNREADABLE")
                    continue
                }
                try context.database.transaction {
                    let hash = try store.setLocal(
                        value, slot: slot, type: remote.type == "plain" ? "plain" : "encrypted", projectID: projectID)
                    try store.saveState(
                        slot,
                        .init(
                            base: .init(
                                hash: hash, vercelID: remote.identity,
                                vercelUpdatedAt: remote.updatedAt ?? remote.createdAt ?? 0),
                            owned: adopt || snapshot.states[slot]?.owned == true), projectID: projectID)
                }
                results[slot] = ("applied", nil)
            case .deleteLocal:
                try context.database.transaction {
                    _ = try store.deleteLocal(
                        key: slot.key, target: slot.target, gitBranch: slot.gitBranch, projectID: projectID)
                    try store.dropState(slot, projectID: projectID)
                }
                results[slot] = ("applied", nil)
            case .inSync:
                // Both sides agree: the base records it (or goes, when neither side has the slot).
                let input = snapshot.inputs[slot]
                if let local = input?.local, let remote = input?.remote {
                    let state = EnvStore.State(
                        base: .init(hash: local.hash, vercelID: remote.id, vercelUpdatedAt: remote.updatedAt),
                        owned: adopt || remote.owned)
                    if snapshot.states[slot] != state { agreed[slot] = state }
                } else if input?.local == nil, input?.remote == nil, snapshot.states[slot] != nil {
                    gone.append(slot)
                }
            default:
                break
            }
        }
        try store.saveStates(agreed, projectID: projectID)
        try store.dropStates(gone, projectID: projectID)

        answer.applied = true
        answer.interrupted = interrupted
        answer.vercelCalls.writes = writes
        for index in answer.changes.indices {
            let view = answer.changes[index]
            let slot = EnvPlan.Slot(key: view.key, target: view.target, gitBranch: view.gitBranch.value)
            if let (result, error) = results[slot] {
                answer.changes[index].result = result
                answer.changes[index].error = error
            }
        }
    }
}
