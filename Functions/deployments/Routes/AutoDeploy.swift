import FastCGI
import Platform
import PlatformHost

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `…/auto-deploy/config`, `…/rules` and `…/test`: whether and where pushes deploy. The switch and
/// branch patterns are the link's (`autoDeployEnabled`, `deploymentBranchPatterns`), so the link
/// routes and these edit the same settings. `test` runs the evaluator a delivery runs, and never
/// deploys.
enum AutoDeploy {
    struct ConfigView: Encodable {
        let enabled: Bool
        let branchPatterns: [String]
        let targetEnvironment: AutoDeployMode
        let requiresApproval: Bool
        let productionBranch: String

        init(_ settings: AutoDeploySettings) {
            enabled = settings.enabled
            branchPatterns = settings.branchPatterns
            targetEnvironment = settings.targetEnvironment
            requiresApproval = settings.requiresApproval
            productionBranch = settings.productionBranch
        }
    }

    struct RuleView: Encodable {
        let pattern: String
        let target: DeployTarget
        let requiresApproval: Bool
        let position: Int
        let excludes: Bool
    }

    struct ConfigInput: Decodable {
        let enabled: Bool?
        let branchPatterns: [String]?
        let targetEnvironment: String?
        let requiresApproval: Bool?
    }

    struct RuleInput: Decodable {
        let pattern: String
        let target: String
        let requiresApproval: Bool?
    }

    struct TestInput: Decodable {
        let branch: String
        let dryRun: Bool?
        let pullRequest: Bool?
    }

    struct TestAnswer: Encodable {
        let wouldDeploy: Bool
        let reason: String
        let targetEnvironment: DeployTarget?
        let matchedPattern: String?
        let requiresApproval: Bool
        let dryRun: Bool

        func encode(to encoder: any Encoder) throws {
            enum Keys: String, CodingKey {
                case wouldDeploy, reason, targetEnvironment, matchedPattern, requiresApproval, dryRun
            }
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(wouldDeploy, forKey: .wouldDeploy)
            try container.encode(reason, forKey: .reason)
            try container.encode(targetEnvironment, forKey: .targetEnvironment)
            try container.encode(matchedPattern, forKey: .matchedPattern)
            try container.encode(requiresApproval, forKey: .requiresApproval)
            try container.encode(dryRun, forKey: .dryRun)
        }
    }

    static func store(_ context: WorkerServices) -> AutoDeployStore { context.autoDeploy }

    static func rules(_ projectID: UUID, _ context: WorkerServices) throws -> [RuleView] {
        try store(context).rules(projectID).enumerated().map { position, rule in
            RuleView(
                pattern: rule.pattern, target: rule.target, requiresApproval: rule.requiresApproval, position: position,
                excludes: rule.pattern.hasPrefix("!"))
        }
    }

    /// The link's patterns, checked as the link routes check them.
    static func validate(patterns: [String]) throws {
        if let reason = Glob.refusal(list: patterns) { throw DeploymentsError.invalidBranchPatterns(reason) }
    }

    @Sendable static func getConfig(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        _ = try call.linkedProject()
        guard let settings = try store(context).settings(call.projectID) else { throw PlatformError.projectNotLinked }
        return .json(["config": ConfigView(settings)])
    }

    @Sendable static func putConfig(_ call: PlatformCall<ConfigInput>, _ context: WorkerServices) throws -> Response {
        let input = call.input
        if let patterns = input.branchPatterns { try validate(patterns: patterns) }
        let mode = try input.targetEnvironment.map { text in
            guard let mode = AutoDeployMode(rawValue: text) else { throw DeploymentsError.invalidTargetEnvironment }
            return mode
        }
        let project = try call.linkedProject()
        guard
            let settings = try store(context).update(
                project.projectID,
                .init(
                    enabled: input.enabled, branchPatterns: input.branchPatterns,
                    targetEnvironment: mode, requiresApproval: input.requiresApproval))
        else { throw PlatformError.projectNotLinked }
        return .json(["config": ConfigView(settings)])
    }

    @Sendable static func listRules(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        let project = try call.linkedProject()
        return .json(["rules": try rules(project.projectID, context)])
    }

    @Sendable static func addRule(_ call: PlatformCall<RuleInput>, _ context: WorkerServices) throws -> Response {
        let input = call.input
        if let reason = Glob.refusal(input.pattern) { throw DeploymentsError.invalidRule("pattern: \(reason)") }
        guard let target = DeployTarget(rawValue: input.target) else {
            throw DeploymentsError.invalidRule("target must be production or preview")
        }
        let project = try call.linkedProject()
        let added = try store(context).add(
            AutoDeployRule(
                pattern: input.pattern, target: target, requiresApproval: input.requiresApproval ?? false),
            to: project.projectID)
        switch added {
        case .failure(.exists): throw DeploymentsError.ruleExists
        case .failure(.tooMany): throw DeploymentsError.tooManyRules
        case .success: return .json(["rules": try rules(project.projectID, context)], status: 201)
        }
    }

    @Sendable static func removeRule(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        guard let pattern = call.parameter("pattern"), Glob.isValid(pattern) else {
            throw DeploymentsError.invalidRule("the pattern in the path is not a valid glob")
        }
        let project = try call.linkedProject()
        guard try store(context).removeRule(pattern, from: project.projectID) else {
            throw DeploymentsError.ruleNotFound
        }
        return .json(["removed": true])
    }

    @Sendable static func test(_ call: PlatformCall<TestInput>, _ context: WorkerServices) throws -> Response {
        guard GitRef.isValidBranch(call.input.branch) else { throw DeploymentsError.invalidBranch }
        let project = try call.linkedProject()
        guard let settings = try store(context).settings(project.projectID) else {
            throw PlatformError.projectNotLinked
        }
        let decision = AutoDeployPolicy.evaluate(
            branch: call.input.branch, settings: settings, rules: try store(context).rules(project.projectID))
        let target = decision.target.map { call.input.pullRequest == true ? .preview : $0 }
        return .json(
            TestAnswer(
                wouldDeploy: decision.wouldDeploy, reason: decision.reason, targetEnvironment: target,
                matchedPattern: decision.matchedPattern, requiresApproval: decision.requiresApproval, dryRun: true))
    }
}
