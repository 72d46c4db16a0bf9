import Crypto
import Kernel
import Vercel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What a sync is asked: a target's variables in one direction, the keys the patterns take, how
/// the plan treats deletes, adoption and conflicts, and whether it only plans.
public struct EnvSyncRequest: Sendable {
    public let projectID: UUID
    public let userID: UUID
    public let link: LinkedProject
    public let direction: EnvPlan.Direction
    public let target: String
    public let gitBranch: String?
    public let include: [Glob]
    public let exclude: [Glob]
    public let options: EnvPlan.Options
    public let dryRun: Bool
    public let confirmationToken: String?

    public init(
        projectID: UUID, userID: UUID, link: LinkedProject, direction: EnvPlan.Direction, target: String,
        gitBranch: String?, include: [Glob], exclude: [Glob], options: EnvPlan.Options, dryRun: Bool,
        confirmationToken: String?
    ) {
        self.projectID = projectID
        self.userID = userID
        self.link = link
        self.direction = direction
        self.target = target
        self.gitBranch = gitBranch
        self.include = include
        self.exclude = exclude
        self.options = options
        self.dryRun = dryRun
        self.confirmationToken = confirmationToken
    }
}

/// The three-way sync of a project's variables with Vercel: the plan of a target's variables, a
/// dry run that returns it with a confirmation token bound to its digest, and the apply: Vercel's
/// batch calls (an array create with upsert, a batch delete by ids), the base moved only for what
/// Vercel applied, committed batch by batch, so a sync cut off halfway is finished by running it
/// again. One sync per project at a time; production needs the confirmation of a dry run of the
/// very same plan. Never a value in an answer, a log line or the audit row.
public struct EnvSyncService {
    let services: WorkerServices

    public init(_ services: WorkerServices) {
        self.services = services
    }

    public static let pushBatch = 50
    public static let deleteBatch = 100

    /// What a sync came to.
    public enum Outcome: Sendable {
        /// Planned (a dry run, with its confirmation token) or applied.
        case answered(SyncAnswer)
        /// Another sync of the project is running.
        case busy
        /// The confirmation token is not one a dry run of this project, target and user gave.
        case confirmationInvalid
        /// The plan changed since the dry run the token confirms; here is the new one, with a token.
        case planStale(SyncAnswer)
        /// A production sync that writes needs a dry run's confirmation first; here it is.
        case confirmationRequired(SyncAnswer)
    }

    /// Plans and, unless a dry run, applies `request` with `credentials`.
    public func sync(_ request: EnvSyncRequest, credentials: VercelClient.Credentials) throws -> Outcome {
        let store = services.envStore
        let outcome = try services.database.withAdvisoryLockIfFree(EnvStore.syncLock(request.projectID)) {
            () throws -> Outcome in
            let snapshot = try EnvSnapshot.read(
                projectID: request.projectID, link: request.link, target: request.target, store: store,
                client: services.vercel, credentials: credentials, needValues: request.direction != .toVercel)
            var inputs: [EnvPlan.Slot: EnvPlan.Input] = [:]
            var excluded: [EnvPlan.Slot] = []
            for (slot, value) in snapshot.inputs where slot.gitBranch == request.gitBranch {
                if Self.matches(slot.key, include: request.include, exclude: request.exclude) {
                    inputs[slot] = value
                } else {
                    excluded.append(slot)
                }
            }
            let plan = EnvPlan.plan(inputs, request.options)
            let digest = Self.digest(plan, inputs)
            var answer = SyncAnswer(
                plan: plan, excluded: excluded.sorted(), snapshot: snapshot, store: store,
                requiresConfirmation: request.target == "production", reads: 1 + snapshot.fetched)
            answer.warnings = Self.sizeWarnings(snapshot, store: store)
            func withToken(_ answer: SyncAnswer) throws -> SyncAnswer {
                var answer = answer
                let (token, expiresAt) = try store.issueConfirmation(
                    projectID: request.projectID, userID: request.userID, target: request.target,
                    direction: request.direction.rawValue, planDigest: digest)
                answer.confirmationToken = token
                answer.expiresAt = ISO8601.format(expiresAt)
                return answer
            }
            if request.dryRun {
                try audit(request, answer)
                return .answered(try withToken(answer))
            }
            if let token = request.confirmationToken {
                switch try store.consumeConfirmation(
                    token, projectID: request.projectID, userID: request.userID, target: request.target,
                    direction: request.direction.rawValue, planDigest: digest)
                {
                case .confirmed: break
                case .invalid: return .confirmationInvalid
                case .stale: return .planStale(try withToken(answer))
                }
            } else if request.target == "production", plan.contains(where: { $0.action.writes }) {
                return .confirmationRequired(try withToken(answer))
            }
            try Applier(
                services: services, store: store, link: request.link, credentials: credentials, snapshot: snapshot,
                adopt: request.options.adopt
            ).apply(plan, into: &answer)
            try audit(request, answer)
            return .answered(answer)
        }
        return outcome ?? .busy
    }

    /// What a target's variables take against Vercel's 64 KB per deployment: said, not refused.
    public static func sizeWarnings(_ snapshot: EnvSnapshot, store: EnvStore) -> [String] {
        var sizes: [String: Int] = [:]
        for (slot, local) in snapshot.locals {
            sizes[slot.target, default: 0] += slot.key.utf8.count + ((try? store.value(of: local))?.utf8.count ?? 0)
        }
        return sizes.filter { $0.value > EnvRules.deploymentLimit }.keys.sorted().map {
            "the \($0) variables take \(sizes[$0]!) bytes; Vercel allows 64 KB per deployment"
        }
    }

    /// Whether `key` is taken: it matches an include pattern (or there are none) and no exclude one.
    public static func matches(_ key: String, include: [Glob], exclude: [Glob]) -> Bool {
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
    func audit(_ request: EnvSyncRequest, _ answer: SyncAnswer) throws {
        try services.audit.record(
            request.dryRun ? .envSyncPlanned : .envSynced, severity: request.dryRun ? .low : .medium,
            actor: request.userID, project: request.projectID,
            details: AuditDetails(
                direction: request.direction.rawValue, target: request.target, dryRun: request.dryRun,
                interrupted: answer.interrupted,
                changes: answer.changes.filter { $0.action != "in_sync" }.map {
                    .init(key: $0.key, target: $0.target, action: $0.action, result: $0.result)
                }))
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
public struct SyncAnswer: Encodable, Sendable {
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
    public var json: [String: JSONValue] {
        guard let data = try? JSONEncoder().encode(self),
            case .object(let fields)? = try? JSONDecoder().decode(JSONValue.self, from: data)
        else { return [:] }
        return fields
    }
}

/// Carries out a plan: pushes and deletes on Vercel in batches, pulls and local deletes here, and
/// the base of each slot moved only once its change is applied.
struct Applier {
    let services: WorkerServices
    let store: EnvStore
    let link: LinkedProject
    let credentials: VercelClient.Credentials
    let snapshot: EnvSnapshot
    let adopt: Bool

    var projectID: UUID { link.projectID }

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
        for batch in stride(from: 0, to: pushes.count, by: EnvSyncService.pushBatch).map({
            Array(pushes[$0..<min($0 + EnvSyncService.pushBatch, pushes.count)])
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
                try services.vercel.createEnvVariables(
                    items, projectID: link.vercelProjectID, upsert: true, credentials)
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
                        }, vercelProjectID: link.vercelProjectID, client: services.vercel, credentials: credentials)
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
        for batch in stride(from: 0, to: deletes.count, by: EnvSyncService.deleteBatch).map({
            Array(deletes[$0..<min($0 + EnvSyncService.deleteBatch, deletes.count)])
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
                try services.vercel.deleteEnvVariables(ids: ids, projectID: link.vercelProjectID, credentials)
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
                try services.database.transaction {
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
                try services.database.transaction {
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

extension WorkerServices {
    /// Syncing a project's variables with Vercel.
    public var envSync: EnvSyncService { EnvSyncService(self) }
}
