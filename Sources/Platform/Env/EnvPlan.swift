/// The three-way plan of an environment sync: for every variable slot (key, target, preview branch),
/// the platform's value, Vercel's and the base (what both held after the last applied change),
/// turned into one action. Pure: no I/O, no clock, no values — only keyed hashes, Vercel's ids and
/// `updatedAt`s, so the same inputs always give the same plan, and its digest binds a confirmation.
public enum EnvPlan {
    public enum Direction: String, Sendable, Codable, CaseIterable {
        case toVercel = "to_vercel"
        case fromVercel = "from_vercel"
        case bidirectional
    }

    /// Who wins a conflict on a key, as the request resolves it.
    public enum Resolution: String, Sendable, Codable {
        case platform
        case vercel
    }

    /// One variable as it is identified on both sides.
    public struct Slot: Hashable, Sendable, Comparable {
        public let key: String
        public let target: String
        public let gitBranch: String?

        public init(key: String, target: String, gitBranch: String? = nil) {
            self.key = key
            self.target = target
            self.gitBranch = gitBranch
        }

        public static func < (a: Slot, b: Slot) -> Bool {
            (a.key, a.target, a.gitBranch ?? "") < (b.key, b.target, b.gitBranch ?? "")
        }
    }

    /// The platform's value: its keyed hash (never the value).
    public struct Local: Sendable, Equatable {
        public let hash: String
        public let type: String

        public init(hash: String, type: String) {
            self.hash = hash
            self.type = type
        }
    }

    /// Vercel's variable: its id and `updatedAt`, and the keyed hash of its value when it could be
    /// read (nil for a sensitive value, which Vercel never returns).
    public struct Remote: Sendable, Equatable {
        public let id: String
        public let hash: String?
        public let updatedAt: Int64
        public let type: String
        /// This service created it, or adopted it in an earlier sync.
        public let owned: Bool

        public init(id: String, hash: String?, updatedAt: Int64, type: String, owned: Bool) {
            self.id = id
            self.hash = hash
            self.updatedAt = updatedAt
            self.type = type
            self.owned = owned
        }
    }

    /// What both sides held after the last change applied to the slot.
    public struct Base: Sendable, Equatable {
        public let hash: String
        public let vercelID: String
        public let vercelUpdatedAt: Int64

        public init(hash: String, vercelID: String, vercelUpdatedAt: Int64) {
            self.hash = hash
            self.vercelID = vercelID
            self.vercelUpdatedAt = vercelUpdatedAt
        }
    }

    public struct Input: Sendable {
        public var local: Local?
        public var remote: Remote?
        public var base: Base?

        public init(local: Local?, remote: Remote?, base: Base?) {
            self.local = local
            self.remote = remote
            self.base = base
        }
    }

    public struct Options: Sendable {
        public var direction: Direction
        public var propagateDeletes: Bool
        public var adopt: Bool
        public var resolutions: [String: Resolution]

        public init(
            direction: Direction, propagateDeletes: Bool = false, adopt: Bool = false,
            resolutions: [String: Resolution] = [:]
        ) {
            self.direction = direction
            self.propagateDeletes = propagateDeletes
            self.adopt = adopt
            self.resolutions = resolutions
        }
    }

    public enum Action: String, Sendable, Codable {
        /// Create the platform's value on Vercel.
        case create
        /// Overwrite Vercel's value with the platform's.
        case update
        /// Delete Vercel's variable.
        case delete
        /// Take Vercel's value into the platform.
        case pull
        /// Delete the platform's value (Vercel deleted it).
        case deleteLocal = "delete_local"
        /// Both sides agree: only the base is written.
        case inSync = "in_sync"
        case conflict
        case skipped
    }

    public enum SkipReason: String, Sendable, Codable {
        /// The variable on Vercel is not this service's (and the request neither adopts nor resolves it).
        case notOwned = "not_owned"
        /// Vercel's value cannot be read (sensitive), so it cannot be pulled or compared.
        case unreadable
        /// A deletion, without `propagateDeletes`.
        case deleteNotPropagated = "delete_not_propagated"
        /// Nothing to carry in this direction.
        case nothingToDo = "nothing_to_do"
    }

    public struct Change: Sendable, Equatable {
        public let slot: Slot
        public let action: Action
        public let reason: SkipReason?
        /// For a conflict: what each side did since the base.
        public let conflict: String?
    }

    /// How one side moved since the base.
    enum Movement: Equatable {
        case none
        case unchanged
        case changed
        /// Vercel's value changed (its id or `updatedAt` moved) but cannot be read.
        case changedUnreadable
        case deleted
        /// Present without a base: never synced.
        case added
    }

    static func movement(of local: Local?, base: Base?) -> Movement {
        switch (local, base) {
        case (nil, nil): .none
        case (nil, .some): .deleted
        case (.some, nil): .added
        case (.some(let local), .some(let base)): local.hash == base.hash ? .unchanged : .changed
        }
    }

    static func movement(of remote: Remote?, base: Base?) -> Movement {
        switch (remote, base) {
        case (nil, nil): return .none
        case (nil, .some): return .deleted
        case (.some, nil): return .added
        case (.some(let remote), .some(let base)):
            if let hash = remote.hash {
                return hash == base.hash && remote.id == base.vercelID ? .unchanged : .changed
            }
            return remote.id == base.vercelID && remote.updatedAt == base.vercelUpdatedAt
                ? .unchanged : .changedUnreadable
        }
    }

    /// The action for one slot.
    public static func decide(_ slot: Slot, _ input: Input, _ options: Options) -> Change {
        let local = movement(of: input.local, base: input.base)
        let remote = movement(of: input.remote, base: input.base)
        func change(_ action: Action, _ reason: SkipReason? = nil, conflict: String? = nil) -> Change {
            Change(slot: slot, action: action, reason: reason, conflict: conflict)
        }
        // Both sides hold the same readable value: nothing to carry, whatever the base says.
        if let l = input.local, let r = input.remote, let hash = r.hash, hash == l.hash {
            return change(.inSync)
        }
        if input.local == nil, input.remote == nil { return change(.inSync) }

        let localMoved = local != .unchanged && local != .none
        let remoteMoved = remote != .unchanged && remote != .none
        // Which way the slot's value should flow, before the checks.
        let flow: Resolution?
        if let resolution = options.resolutions[slot.key] {
            flow = resolution
        } else {
            switch options.direction {
            case .toVercel:
                // Vercel moved on its own since the base: carrying the platform's value would undo it.
                // Without a base, two different values are a conflict too, unless the sync adopts.
                if remoteMoved, input.base != nil || input.local != nil && !options.adopt {
                    return change(.conflict, conflict: "vercel \(remote.word), platform \(local.word)")
                }
                flow = .platform
            case .fromVercel:
                if localMoved, input.base != nil || input.local != nil && input.remote != nil {
                    return change(.conflict, conflict: "platform \(local.word), vercel \(remote.word)")
                }
                flow = .vercel
            case .bidirectional:
                switch (localMoved, remoteMoved) {
                case (true, true):
                    return change(.conflict, conflict: "platform \(local.word), vercel \(remote.word)")
                case (true, false): flow = .platform
                case (false, true): flow = .vercel
                case (false, false): return change(.inSync)
                }
            }
        }
        let resolved = options.resolutions[slot.key] != nil

        switch flow {
        case .platform:
            guard let l = input.local else {
                // The platform has no value. A variable never synced (another integration's, or one
                // made in Vercel) is not the platform's to delete; a deleted one goes only if deletes
                // are carried and it is ours.
                guard let r = input.remote else { return change(.inSync) }
                guard input.base != nil else { return change(.skipped, .nothingToDo) }
                guard options.propagateDeletes else { return change(.skipped, .deleteNotPropagated) }
                guard r.owned || options.adopt || resolved else { return change(.skipped, .notOwned) }
                return change(.delete)
            }
            guard let r = input.remote else { return change(.create) }
            // An unreadable value unchanged since a base that held the platform's value is in step.
            if r.hash == nil, remote == .unchanged, input.base?.hash == l.hash { return change(.inSync) }
            guard r.owned || options.adopt || resolved else { return change(.skipped, .notOwned) }
            return change(.update)
        case .vercel:
            guard let r = input.remote else {
                guard input.local != nil else { return change(.inSync) }
                guard input.base != nil else { return change(.skipped, .nothingToDo) }
                guard options.propagateDeletes else { return change(.skipped, .deleteNotPropagated) }
                return change(.deleteLocal)
            }
            guard r.hash != nil else {
                if remote == .unchanged, input.base?.hash == input.local?.hash { return change(.inSync) }
                return change(.skipped, .unreadable)
            }
            return change(.pull)
        case nil:
            return change(.inSync)
        }
    }

    /// The plan of every slot either side or the base knows, in slot order.
    public static func plan(_ inputs: [Slot: Input], _ options: Options) -> [Change] {
        inputs.keys.sorted().map { decide($0, inputs[$0]!, options) }
    }
}

extension EnvPlan.Movement {
    var word: String {
        switch self {
        case .none: "absent"
        case .unchanged: "unchanged"
        case .changed: "changed"
        case .changedUnreadable: "changed (unreadable)"
        case .deleted: "deleted"
        case .added: "added"
        }
    }
}
