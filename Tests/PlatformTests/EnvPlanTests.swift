import Platform
import PlatformHost
import Testing

/// The three-way plan of an env sync, over every combination of base present or absent and each
/// side unchanged, changed, deleted or unreadable, in each direction.
@Suite struct EnvPlanTests {
    typealias Plan = EnvPlan
    static let slot = EnvPlan.Slot(key: "API_URL", target: "production")
    static let base = EnvPlan.Base(hash: "h0", vercelID: "env_1", vercelUpdatedAt: 100)

    static func local(_ hash: String?) -> EnvPlan.Local? { hash.map { EnvPlan.Local(hash: $0, type: "encrypted") } }

    /// `h0` as the base held it, `h2` changed in Vercel, `?` unreadable and unchanged, `?!` unreadable
    /// and changed (its `updatedAt` moved), nil deleted or absent.
    static func remote(_ state: String?, owned: Bool = true) -> EnvPlan.Remote? {
        switch state {
        case nil: nil
        case "?": EnvPlan.Remote(id: "env_1", hash: nil, updatedAt: 100, type: "sensitive", owned: owned)
        case "?!": EnvPlan.Remote(id: "env_1", hash: nil, updatedAt: 200, type: "sensitive", owned: owned)
        case "h0": EnvPlan.Remote(id: "env_1", hash: "h0", updatedAt: 100, type: "encrypted", owned: owned)
        case let hash?: EnvPlan.Remote(id: "env_1", hash: hash, updatedAt: 200, type: "encrypted", owned: owned)
        }
    }

    static func outcome(_ change: EnvPlan.Change) -> String {
        change.reason.map { "skipped:\($0.rawValue)" } ?? change.action.rawValue
    }

    /// (base?, platform, vercel) → (to_vercel, from_vercel, bidirectional), deletes not carried.
    static let table: [(Bool, String?, String?, String, String, String)] = [
        // Base present: the platform unchanged (h0), changed (h1) or deleted (nil).
        (true, "h0", "h0", "in_sync", "in_sync", "in_sync"),
        (true, "h1", "h0", "update", "conflict", "update"),
        (true, nil, "h0", "skipped:delete_not_propagated", "conflict", "skipped:delete_not_propagated"),
        (true, "h0", "h2", "conflict", "pull", "pull"),
        (true, "h1", "h2", "conflict", "conflict", "conflict"),
        (true, "h1", "h1", "in_sync", "in_sync", "in_sync"),
        (true, nil, "h2", "conflict", "conflict", "conflict"),
        (true, "h0", "?!", "conflict", "skipped:unreadable", "skipped:unreadable"),
        (true, "h1", "?!", "conflict", "conflict", "conflict"),
        (true, nil, "?!", "conflict", "conflict", "conflict"),
        (true, "h0", "?", "in_sync", "in_sync", "in_sync"),
        (true, "h1", "?", "update", "conflict", "update"),
        (true, nil, "?", "skipped:delete_not_propagated", "conflict", "skipped:delete_not_propagated"),
        (true, "h0", nil, "conflict", "skipped:delete_not_propagated", "skipped:delete_not_propagated"),
        (true, "h1", nil, "conflict", "conflict", "conflict"),
        (true, nil, nil, "in_sync", "in_sync", "in_sync"),
        // No base: never synced.
        (false, "h1", nil, "create", "skipped:nothing_to_do", "create"),
        (false, nil, "h2", "skipped:nothing_to_do", "pull", "pull"),
        (false, nil, "?!", "skipped:nothing_to_do", "skipped:unreadable", "skipped:unreadable"),
        (false, "h1", "h1", "in_sync", "in_sync", "in_sync"),
        (false, "h1", "h2", "conflict", "conflict", "conflict"),
        (false, "h1", "?!", "conflict", "conflict", "conflict"),
    ]

    @Test(arguments: table.indices)
    func everyCombinationHasItsAction(row: Int) {
        let (hasBase, platform, vercel, toVercel, fromVercel, both) = Self.table[row]
        let input = EnvPlan.Input(
            local: Self.local(platform), remote: Self.remote(vercel), base: hasBase ? Self.base : nil)
        let outcomes = EnvPlan.Direction.allCases.map {
            Self.outcome(EnvPlan.decide(Self.slot, input, EnvPlan.Options(direction: $0)))
        }
        #expect(
            outcomes == [toVercel, fromVercel, both],
            "base \(hasBase), platform \(platform ?? "-"), vercel \(vercel ?? "-")")
    }

    @Test func carriedDeletesTouchOnlyWhatWasSynced() {
        let carried = { (direction: EnvPlan.Direction, input: EnvPlan.Input) in
            Self.outcome(
                EnvPlan.decide(Self.slot, input, EnvPlan.Options(direction: direction, propagateDeletes: true)))
        }
        #expect(carried(.toVercel, .init(local: nil, remote: Self.remote("h0"), base: Self.base)) == "delete")
        #expect(carried(.fromVercel, .init(local: Self.local("h0"), remote: nil, base: Self.base)) == "delete_local")
        #expect(carried(.bidirectional, .init(local: Self.local("h0"), remote: nil, base: Self.base)) == "delete_local")
        // A variable another integration made in Vercel was never synced: it survives every sync.
        for direction in EnvPlan.Direction.allCases {
            #expect(
                carried(direction, .init(local: nil, remote: Self.remote("h2", owned: false), base: nil)) != "delete")
        }
        // Deleting a variable that is not ours needs adopt or a resolution.
        let foreign = EnvPlan.Input(local: nil, remote: Self.remote("h0", owned: false), base: Self.base)
        #expect(carried(.toVercel, foreign) == "skipped:not_owned")
    }

    @Test func aVariableThatIsNotOursIsOverwrittenOnlyWhenAdoptedOrResolved() {
        let input = EnvPlan.Input(local: Self.local("h1"), remote: Self.remote("h0", owned: false), base: Self.base)
        func run(_ options: EnvPlan.Options) -> String { Self.outcome(EnvPlan.decide(Self.slot, input, options)) }
        #expect(run(.init(direction: .toVercel)) == "skipped:not_owned")
        #expect(run(.init(direction: .toVercel, adopt: true)) == "update")
        #expect(run(.init(direction: .toVercel, resolutions: ["API_URL": .platform])) == "update")
        // Without a base, adopting takes the platform's value over Vercel's instead of a conflict.
        let first = EnvPlan.Input(local: Self.local("h1"), remote: Self.remote("h2", owned: false), base: nil)
        #expect(Self.outcome(EnvPlan.decide(Self.slot, first, .init(direction: .toVercel, adopt: true))) == "update")
    }

    @Test func aResolutionDecidesAConflictEitherWay() {
        let input = EnvPlan.Input(local: Self.local("h1"), remote: Self.remote("h2"), base: Self.base)
        func run(_ resolution: EnvPlan.Resolution) -> String {
            Self.outcome(
                EnvPlan.decide(
                    Self.slot, input, .init(direction: .bidirectional, resolutions: ["API_URL": resolution])))
        }
        #expect(run(.platform) == "update" && run(.vercel) == "pull")
        // Vercel's side cannot win when its value cannot be read.
        let sensitive = EnvPlan.Input(local: Self.local("h1"), remote: Self.remote("?!"), base: Self.base)
        #expect(
            Self.outcome(
                EnvPlan.decide(Self.slot, sensitive, .init(direction: .toVercel, resolutions: ["API_URL": .vercel])))
                == "skipped:unreadable")
        let conflict = EnvPlan.decide(Self.slot, input, .init(direction: .bidirectional))
        #expect(conflict.conflict == "platform changed, vercel changed")
    }

    @Test func thePlanIsInSlotOrderAndTheSameEveryTime() {
        let inputs: [EnvPlan.Slot: EnvPlan.Input] = [
            .init(key: "B", target: "production"): .init(local: Self.local("h1"), remote: nil, base: nil),
            .init(key: "A", target: "preview", gitBranch: "feature"): .init(
                local: nil, remote: Self.remote("h2"), base: nil),
            .init(key: "A", target: "preview"): .init(
                local: Self.local("h0"), remote: Self.remote("h0"), base: Self.base),
        ]
        let plan = EnvPlan.plan(inputs, .init(direction: .bidirectional))
        #expect(plan.map(\.slot.key) == ["A", "A", "B"] && plan.map(\.action) == [.inSync, .pull, .create])
        #expect(EnvPlan.plan(inputs, .init(direction: .bidirectional)) == plan)
    }
}
