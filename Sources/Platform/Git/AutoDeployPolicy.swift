/// Where a deployment goes.
public enum DeployTarget: String, Sendable, Codable, CaseIterable {
    case production
    case preview
}

/// Where pushes deploy when no rule says: `auto` is production for the production branch and
/// preview for the others.
public enum AutoDeployMode: String, Sendable, Codable, CaseIterable {
    case auto
    case production
    case preview

    /// The target of a push to `branch`.
    public func target(of branch: String, productionBranch: String) -> DeployTarget {
        switch self {
        case .auto: branch == productionBranch ? .production : .preview
        case .production: .production
        case .preview: .preview
        }
    }
}

/// What one delivery's change came to, as recorded and answered.
public enum GitDecision: String, Sendable, Codable, CaseIterable {
    case deployed
    /// A skip marker, the rules or the guardrail kept it from deploying.
    case skipped
    /// It waits for a person to approve it.
    case waitingApproval = "waiting_approval"
    /// An event or change that never deploys.
    case ignored
    /// Vercel or the connection could not deploy it then; the retry job decides it again.
    case failed
    /// The delivery was received before (answered, never recorded).
    case duplicate
}

/// The auto-deploy settings of a project: the link's switch and branch patterns, and where and how
/// pushes deploy.
public struct AutoDeploySettings: Sendable, Equatable {
    public var enabled: Bool
    /// Globs a branch must match to deploy (a leading `!` excludes); empty: every branch.
    public var branchPatterns: [String]
    public var targetEnvironment: AutoDeployMode
    public var requiresApproval: Bool
    public var productionBranch: String

    public init(
        enabled: Bool, branchPatterns: [String], targetEnvironment: AutoDeployMode, requiresApproval: Bool,
        productionBranch: String
    ) {
        self.enabled = enabled
        self.branchPatterns = branchPatterns
        self.targetEnvironment = targetEnvironment
        self.requiresApproval = requiresApproval
        self.productionBranch = productionBranch
    }
}

/// One rule: the branches its pattern matches deploy to `target`, with or without approval; a
/// pattern with a leading `!` keeps the branches it matches from deploying.
public struct AutoDeployRule: Sendable, Equatable {
    public let pattern: String
    public let target: DeployTarget
    public let requiresApproval: Bool

    public init(pattern: String, target: DeployTarget, requiresApproval: Bool = false) {
        self.pattern = pattern
        self.target = target
        self.requiresApproval = requiresApproval
    }
}

/// What auto-deploy does with a branch, and why.
public struct AutoDeployDecision: Sendable, Equatable {
    public let wouldDeploy: Bool
    public let reason: String
    public let target: DeployTarget?
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
        let target = settings.targetEnvironment.target(of: branch, productionBranch: settings.productionBranch)
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
