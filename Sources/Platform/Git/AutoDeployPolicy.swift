/// The auto-deploy settings of a project: the link's switch and branch patterns, and where and how
/// pushes deploy.
public struct AutoDeploySettings: Sendable, Equatable {
    public var enabled: Bool
    /// Globs a branch must match to deploy (a leading `!` excludes); empty: every branch.
    public var branchPatterns: [String]
    /// `auto` (production for the production branch, preview otherwise), `production` or `preview`.
    public var targetEnvironment: String
    public var requiresApproval: Bool
    public var productionBranch: String

    public init(
        enabled: Bool, branchPatterns: [String], targetEnvironment: String, requiresApproval: Bool,
        productionBranch: String
    ) {
        self.enabled = enabled
        self.branchPatterns = branchPatterns
        self.targetEnvironment = targetEnvironment
        self.requiresApproval = requiresApproval
        self.productionBranch = productionBranch
    }

    public static let targets = ["auto", "production", "preview"]
}

/// One rule: the branches its pattern matches deploy to `target`, with or without approval; a
/// pattern with a leading `!` keeps the branches it matches from deploying.
public struct AutoDeployRule: Sendable, Equatable {
    public let pattern: String
    public let target: String
    public let requiresApproval: Bool

    public init(pattern: String, target: String, requiresApproval: Bool = false) {
        self.pattern = pattern
        self.target = target
        self.requiresApproval = requiresApproval
    }
}

/// What auto-deploy does with a branch, and why.
public struct AutoDeployDecision: Sendable, Equatable {
    public let wouldDeploy: Bool
    public let reason: String
    public let target: String?
    public let matchedPattern: String?
    public let requiresApproval: Bool
}

/// The decision for a push to a branch. Rules are tried in their order and the first whose pattern
/// matches decides. Without a matching rule, the branch patterns are tried in their order and the
/// first match decides (`!` excludes); a list of exclusions alone lets every other branch through,
/// and an empty list lets every branch through. The target is then the settings' (`auto`:
/// production for the production branch, preview otherwise).
public enum AutoDeployPolicy {
    public static func evaluate(
        branch: String, settings: AutoDeploySettings, rules: [AutoDeployRule]
    ) -> AutoDeployDecision {
        guard settings.enabled else {
            return AutoDeployDecision(
                wouldDeploy: false, reason: "auto-deploy is off for this project", target: nil, matchedPattern: nil,
                requiresApproval: false)
        }
        for rule in rules {
            let (excludes, glob) = split(rule.pattern)
            guard glob.matches(branch) else { continue }
            if excludes {
                return AutoDeployDecision(
                    wouldDeploy: false, reason: "rule '\(rule.pattern)' excludes this branch", target: nil,
                    matchedPattern: rule.pattern, requiresApproval: false)
            }
            return AutoDeployDecision(
                wouldDeploy: true, reason: "rule '\(rule.pattern)' matches", target: rule.target,
                matchedPattern: rule.pattern, requiresApproval: rule.requiresApproval || settings.requiresApproval)
        }
        let target =
            settings.targetEnvironment == "auto"
            ? (branch == settings.productionBranch ? "production" : "preview") : settings.targetEnvironment
        var includes = false
        for pattern in settings.branchPatterns {
            let (excludes, glob) = split(pattern)
            includes = includes || !excludes
            guard glob.matches(branch) else { continue }
            if excludes {
                return AutoDeployDecision(
                    wouldDeploy: false, reason: "branch pattern '\(pattern)' excludes this branch", target: nil,
                    matchedPattern: pattern, requiresApproval: false)
            }
            return AutoDeployDecision(
                wouldDeploy: true, reason: "branch pattern '\(pattern)' matches", target: target,
                matchedPattern: pattern, requiresApproval: settings.requiresApproval)
        }
        if includes {
            return AutoDeployDecision(
                wouldDeploy: false, reason: "no rule or branch pattern matches this branch", target: nil,
                matchedPattern: nil, requiresApproval: false)
        }
        return AutoDeployDecision(
            wouldDeploy: true,
            reason: settings.branchPatterns.isEmpty ? "every branch deploys" : "no pattern excludes this branch",
            target: target, matchedPattern: nil, requiresApproval: settings.requiresApproval)
    }

    private static func split(_ pattern: String) -> (excludes: Bool, glob: Glob) {
        pattern.hasPrefix("!") ? (true, Glob(String(pattern.dropFirst()))) : (false, Glob(pattern))
    }

    /// The markers in a head commit's message that skip its deployment.
    public static let skipMarkers = ["[skip ci]", "[ci skip]", "[vercel skip]"]

    /// The marker `message` carries, if any (case-insensitive).
    public static func skipMarker(in message: String?) -> String? {
        guard let message = message?.lowercased() else { return nil }
        return skipMarkers.first { message.contains($0) }
    }
}
