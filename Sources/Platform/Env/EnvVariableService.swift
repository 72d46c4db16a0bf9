import Kernel
import Vercel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One variable written or deleted by the platform: its value here first, then Vercel's, as one
/// writer of the key at a time (never beside a sync of the project's variables), so both sides end
/// with the last writer's value. Vercel's variables of another owner are never overwritten or
/// deleted; what Vercel answers is reported beside the platform's result, not thrown.
public struct EnvVariableService {
    let services: WorkerServices

    public init(_ services: WorkerServices) {
        self.services = services
    }

    public struct VercelOutcome: Encodable, Sendable {
        /// `applied`, `failed` or `skipped`.
        public let status: String
        public let error: Nullable<ErrorDetail>

        public struct ErrorDetail: Encodable, Sendable {
            let code: String
            let message: String
        }

        public static var skippedLocalOnly: VercelOutcome { VercelOutcome(status: "skipped", error: Nullable(nil)) }

        /// Vercel's refusal or failure, with its code: `AUTH_REQUIRED`, `RATE_LIMITED`, Vercel's own.
        public static func failed(_ error: VercelError) -> VercelOutcome {
            if case .api(_, let code, let message) = error {
                return VercelOutcome(status: "failed", error: Nullable(.init(code: code, message: message)))
            }
            return VercelOutcome(status: "failed", error: Nullable(.init(code: error.code, message: error.message)))
        }
    }

    private struct AuditDetails: Encodable {
        let key: String
        let targets: [String]
        let type: String?
        let vercel: String
    }

    /// What a write came to.
    public enum Written {
        case stored(hash: String, vercel: VercelOutcome)
        /// A sync of the project's variables is running: nothing was written.
        case syncInProgress
    }

    /// Sets `value` in each of `slots` of `projectID`, then (with `link` and `credentials`) at Vercel.
    public func set(
        _ value: String, type: String, slots: [EnvPlan.Slot], projectID: UUID, actor: UUID, link: LinkedProject?,
        credentials: VercelClient.Credentials?
    ) throws -> Written {
        let store = services.envStore
        guard let key = slots.first?.key else { preconditionFailure("a write names at least one slot") }
        let done = try store.writing(key, of: projectID) { () throws -> (String, VercelOutcome) in
            let hash = try store.setLocal(value, slots: slots, type: type, projectID: projectID)
            guard let link, let credentials else { return (hash, VercelOutcome.skippedLocalOnly) }
            return (hash, try apply(value, type: type, slots: slots, hash: hash, link: link, credentials: credentials))
        }
        guard let (hash, outcome) = done else { return .syncInProgress }
        try services.audit.record(
            .envVariableSet, severity: .medium, actor: actor, project: projectID,
            details: AuditDetails(key: key, targets: slots.map(\.target), type: type, vercel: outcome.status))
        return .stored(hash: hash, vercel: outcome)
    }

    /// Writes one key's value to Vercel in one call, one variable per target, unless a variable of
    /// another owner holds one of its slots there.
    /// The platform's value is stored by then: whatever Vercel answers is reported, not thrown.
    func apply(
        _ value: String, type: String, slots: [EnvPlan.Slot], hash: String, link: LinkedProject,
        credentials: VercelClient.Credentials
    ) throws -> VercelOutcome {
        let store = services.envStore
        let states = try store.states(projectID: link.projectID)
        let listed = Result { () throws(VercelError) -> [VercelEnvVariable] in
            try services.vercel.envVariables(projectID: link.vercelProjectID, credentials)
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
            try services.vercel.createEnvVariables(
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
                    unanswered, before: before, vercelProjectID: link.vercelProjectID, client: services.vercel,
                    credentials: credentials)
            ) { first, _ in first }
            try store.saveStates(written.mapValues { EnvReadBack.owned(hash: hash, $0) }, projectID: link.projectID)
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

    /// What a delete came to.
    public enum Deleted {
        case deleted(vercel: VercelOutcome)
        /// Neither side had the variable.
        case notFound
        case syncInProgress
    }

    /// Deletes `key` (in `target`, or every target) here, then this service's variables of it at
    /// Vercel (with `link` and `credentials`).
    public func delete(
        _ key: String, target: String?, gitBranch: String?, projectID: UUID, actor: UUID, link: LinkedProject?,
        credentials: VercelClient.Credentials?
    ) throws -> Deleted {
        let store = services.envStore
        let done = try store.writing(key, of: projectID) { () throws -> VercelOutcome? in
            let removed = try store.deleteLocal(key: key, target: target, gitBranch: gitBranch, projectID: projectID)
            var outcome = VercelOutcome.skippedLocalOnly
            if let link, let credentials {
                let states = try store.states(projectID: projectID).filter {
                    $0.key.key == key && (target == nil || $0.key.target == target) && $0.key.gitBranch == gitBranch
                        && $0.value.owned
                }
                let listed = Result { () throws(VercelError) -> [VercelEnvVariable] in
                    try services.vercel.envVariables(projectID: link.vercelProjectID, credentials)
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
                        try services.vercel.deleteEnvVariables(
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
                    for slot in states.keys { try store.dropState(slot, projectID: projectID) }
                }
                if removed == 0, states.isEmpty { return nil }
            } else if removed == 0 {
                return nil
            }
            return outcome
        }
        guard let done else { return .syncInProgress }
        guard let outcome = done else { return .notFound }
        try services.audit.record(
            .envVariableDeleted, severity: .medium, actor: actor, project: projectID,
            details: AuditDetails(key: key, targets: target.map { [$0] } ?? [], type: nil, vercel: outcome.status))
        return .deleted(vercel: outcome)
    }
}

extension WorkerServices {
    /// The platform's writes of single variables.
    public var envVariables: EnvVariableService { EnvVariableService(self) }
}
