/// Whether a deploy or a promotion may reach production as asked, and why not. Production takes
/// only the project's production branch; anything else is blocked until an override token allows it.
public struct DeploymentGuardrail: Equatable, Sendable {
    /// Sentences for people, one per reason the action is blocked; empty when it may go ahead.
    public let warnings: [String]

    public var isBlocked: Bool { !warnings.isEmpty }

    /// - Parameters:
    ///   - production: whether the action puts something in production.
    ///   - branch: the git branch the deployment is built from; nil for files from the platform's
    ///     own copy of the project, which is what production is built from anyway.
    ///   - productionBranch: the project's production branch.
    public static func evaluate(production: Bool, branch: String?, productionBranch: String) -> DeploymentGuardrail {
        guard production, let branch, branch != productionBranch else { return DeploymentGuardrail(warnings: []) }
        return DeploymentGuardrail(warnings: [
            "Production deploys come from the '\(productionBranch)' branch; this one is from '\(branch)'"
        ])
    }
}
