import Vercel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Both sides of a project's variables at one moment, read into the plan's inputs. Vercel's list
/// gives ids, types and `updatedAt`s (and plain values); an encrypted value is fetched on its own
/// only when the base cannot vouch for it (its id or `updatedAt` moved, or there is no base) and the
/// plan must compare it; a sensitive value is never readable. Vercel's system variables are left out.
public struct EnvSnapshot {
    public internal(set) var inputs: [EnvPlan.Slot: EnvPlan.Input] = [:]
    public internal(set) var locals: [EnvPlan.Slot: EnvStore.Local] = [:]
    public internal(set) var states: [EnvPlan.Slot: EnvStore.State] = [:]
    /// Vercel's variables by slot.
    public internal(set) var remotes: [EnvPlan.Slot: VercelEnvVariable] = [:]
    /// Vercel's values that were read, by slot: what a pull writes and a mask shows.
    public internal(set) var remoteValues: [EnvPlan.Slot: String] = [:]
    /// Values fetched one by one from Vercel.
    public internal(set) var fetched = 0

    /// - Parameters:
    ///   - target: only this target's slots; nil for all.
    ///   - needValues: whether values Vercel alone holds must be read (a pull may need them).
    public static func read(
        projectID: UUID, link: LinkedProject?, target: String?, store: EnvStore, client: VercelClient,
        credentials: VercelClient.Credentials?, needValues: Bool
    ) throws -> EnvSnapshot {
        var snapshot = EnvSnapshot()
        for local in try store.locals(projectID: projectID, target: target) { snapshot.locals[local.slot] = local }
        snapshot.states = try store.states(projectID: projectID).filter { target == nil || $0.key.target == target }
        if let link, let credentials {
            for variable in try client.envVariables(projectID: link.vercelProjectID, credentials)
            where variable.type != "system" {
                for slotTarget in variable.target where target == nil || slotTarget == target {
                    snapshot.remotes[
                        EnvPlan.Slot(key: variable.key, target: slotTarget, gitBranch: variable.gitBranch)] =
                        variable
                }
            }
        }
        for slot in Set(snapshot.locals.keys).union(snapshot.remotes.keys).union(snapshot.states.keys) {
            let local = snapshot.locals[slot].map { EnvPlan.Local(hash: $0.hash, type: $0.type) }
            let state = snapshot.states[slot]
            var remote: EnvPlan.Remote?
            if let variable = snapshot.remotes[slot] {
                let updatedAt = variable.updatedAt ?? variable.createdAt ?? 0
                var hash: String?
                if let base = state?.base, base.vercelID == variable.identity, base.vercelUpdatedAt == updatedAt,
                    variable.type != "sensitive"
                {
                    hash = base.hash
                } else if variable.type == "plain", let value = variable.value {
                    hash = store.hasher.hash(value, projectID: projectID)
                    snapshot.remoteValues[slot] = value
                } else if variable.type != "sensitive", local != nil || state != nil || needValues, let link,
                    let credentials, let id = variable.id
                {
                    let one = try client.envVariable(id: id, projectID: link.vercelProjectID, credentials)
                    snapshot.fetched += 1
                    if let value = one.value {
                        hash = store.hasher.hash(value, projectID: projectID)
                        snapshot.remoteValues[slot] = value
                    }
                }
                remote = EnvPlan.Remote(
                    id: variable.identity, hash: hash, updatedAt: updatedAt, type: variable.type,
                    owned: state?.owned == true && state?.base.vercelID == variable.identity)
            }
            snapshot.inputs[slot] = EnvPlan.Input(local: local, remote: remote, base: state?.base)
        }
        return snapshot
    }

    /// What a mask shows of the platform's value of `slot`, or of Vercel's when it was read.
    public func masked(_ slot: EnvPlan.Slot, store: EnvStore) -> String? {
        if let local = locals[slot] {
            return (try? store.value(of: local)).map { EnvRules.masked($0, type: local.type) }
        }
        if let value = remoteValues[slot] { return EnvRules.masked(value, type: remotes[slot]?.type ?? "encrypted") }
        return nil
    }
}
