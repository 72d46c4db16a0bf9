import Vercel

/// What Vercel holds for slots it was asked to write, read back when its answer does not say:
/// Vercel may answer a create without `created` after writing.
public enum EnvReadBack {
    /// The variables of `slots` that Vercel lists as written after the write began: each slot's
    /// variable must be new, or changed since `before` (its `updatedAt` before the write). Slots it
    /// does not list so are left out; nothing when the list cannot be read.
    public static func written(
        _ slots: [EnvPlan.Slot], before: [EnvPlan.Slot: Int64], vercelProjectID: String, client: VercelClient,
        credentials: VercelClient.Credentials
    ) -> [EnvPlan.Slot: VercelEnvVariable] {
        guard !slots.isEmpty,
            let listed = try? client.envVariables(projectID: vercelProjectID, credentials)
        else { return [:] }
        var found: [EnvPlan.Slot: VercelEnvVariable] = [:]
        for slot in slots {
            guard let held = listed.first(where: { $0.holds(slot) }) else { continue }
            if let earlier = before[slot], (held.updatedAt ?? held.createdAt ?? 0) <= earlier { continue }
            found[slot] = held
        }
        return found
    }

    /// The state of a slot this service wrote with the value of `hash`, as Vercel holds it.
    public static func owned(hash: String, _ held: VercelEnvVariable) -> EnvStore.State {
        EnvStore.State(
            base: .init(hash: hash, vercelID: held.identity, vercelUpdatedAt: held.updatedAt ?? held.createdAt ?? 0),
            owned: true)
    }
}

extension VercelEnvVariable {
    /// Whether this variable is the one Vercel holds for `slot`: its key, one of its targets, its branch.
    public func holds(_ slot: EnvPlan.Slot) -> Bool {
        key == slot.key && target.contains(slot.target) && gitBranch == slot.gitBranch
    }
}
