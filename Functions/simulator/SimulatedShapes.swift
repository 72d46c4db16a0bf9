/// Which of Vercel's answer variants one account gets (`PUT /_sim/shapes`). By default the
/// simulator answers in Vercel's shapes of 2026 (flat build events with keepalives, env lists with
/// `pagination`, configurations with `scopes` in Vercel's words); each variant switches on one
/// shape Vercel's schema also allows, so a test through nginx can run each one.
struct SimulatedShapes: Codable, Sendable, Equatable {
    enum Variant: String, Codable, Sendable, CaseIterable {
        /// Build events in the older wrapped form `{type, created, payload}`, without `readyState`.
        case wrappedEvents
        /// `null` items among the build events (the schema allows them).
        case nullEvents
        /// A variable of one target lists its `target` as that one string.
        case envStringTarget
        /// Each project's list holds a variable of a custom environment: `customEnvironmentIds`, no `target`.
        case envCustomEnvironment
        /// Plain variables are listed without `id` (their values are listed, so they stay readable).
        case envMissingIds
        /// A create that made one variable answers `created` as that object, not an array.
        case envCreatedObject
        /// A create answers `{failed}` alone, after writing.
        case envCreatedAbsent
        /// Projects created with a repository are linked as `cursor-origin` (a string `repoId`).
        case cursorOriginLinks
        /// ... as GitLab (`projectId`, `projectNamespace`, `projectName`).
        case gitlabLinks
        /// ... as Bitbucket (`owner`, `slug`).
        case bitbucketLinks
        /// Production deployments are READY with `readySubstate: STAGED` until promoted.
        case stagedProduction
        /// Configurations are answered without `scopes`, as before Vercel required them.
        case configurationWithoutScopes
        /// Env and project lists carry one item no client can read (no `key`, no `name`): a list
        /// must survive an item it does not understand.
        case unreadableItem
    }

    var variants: Set<Variant> = []
    /// What the account's configurations report as granted; nil: every permission the service uses.
    var scopes: [String]?

    static let allPermissions = [
        "read:user", "read:team", "read-write:project", "read-write:deployment", "read-write:project-env-vars",
        "read-write:domain", "read:integration-configuration",
    ]

    func has(_ variant: Variant) -> Bool { variants.contains(variant) }
}
