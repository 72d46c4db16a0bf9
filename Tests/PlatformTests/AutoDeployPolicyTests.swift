import Platform
import PlatformHost
import Testing

@Suite struct AutoDeployPolicyTests {
    static func settings(
        enabled: Bool = true, patterns: [String] = [], target: AutoDeployMode = .auto, approval: Bool = false
    ) -> AutoDeploySettings {
        AutoDeploySettings(
            enabled: enabled, branchPatterns: patterns, targetEnvironment: target, requiresApproval: approval,
            productionBranch: "main")
    }

    struct Case: Sendable {
        let name: String
        let branch: String
        let settings: AutoDeploySettings
        let rules: [AutoDeployRule]
        let deploys: Bool
        let target: DeployTarget?
        let matched: String?
        let approval: Bool
    }

    static let cases: [Case] = [
        Case(
            name: "off", branch: "main", settings: settings(enabled: false), rules: [], deploys: false, target: nil,
            matched: nil, approval: false),
        Case(
            name: "auto: the production branch goes to production", branch: "main", settings: settings(), rules: [],
            deploys: true, target: .production, matched: nil, approval: false),
        Case(
            name: "auto: another branch is a preview", branch: "feature/x", settings: settings(), rules: [],
            deploys: true, target: .preview, matched: nil, approval: false),
        Case(
            name: "fixed target", branch: "main", settings: settings(target: .preview), rules: [], deploys: true,
            target: .preview, matched: nil, approval: false),
        Case(
            name: "patterns: a match deploys", branch: "feature/x",
            settings: settings(patterns: ["main", "feature/*"]),
            rules: [], deploys: true, target: .preview, matched: "feature/*", approval: false),
        Case(
            name: "patterns: no match does not", branch: "docs/x", settings: settings(patterns: ["main", "feature/*"]),
            rules: [], deploys: false, target: nil, matched: nil, approval: false),
        Case(
            name: "patterns: the first match decides (exclusion first)", branch: "feature/wip",
            settings: settings(patterns: ["!feature/wip", "feature/*"]), rules: [], deploys: false, target: nil,
            matched: "!feature/wip", approval: false),
        Case(
            name: "patterns: the first match decides (inclusion first)", branch: "feature/wip",
            settings: settings(patterns: ["feature/*", "!feature/wip"]), rules: [], deploys: true, target: .preview,
            matched: "feature/*", approval: false),
        Case(
            name: "patterns: exclusions alone let the rest through", branch: "main",
            settings: settings(patterns: ["!dependabot/**"]), rules: [], deploys: true, target: .production,
            matched: nil, approval: false),
        Case(
            name: "patterns: an exclusion alone excludes its branches", branch: "dependabot/npm/x",
            settings: settings(patterns: ["!dependabot/**"]), rules: [], deploys: false, target: nil,
            matched: "!dependabot/**", approval: false),
        Case(
            name: "rules come before patterns", branch: "release/1.0",
            settings: settings(patterns: ["main"]),
            rules: [AutoDeployRule(pattern: "release/**", target: .production, requiresApproval: true)],
            deploys: true, target: .production, matched: "release/**", approval: true),
        Case(
            name: "rules: the first match decides", branch: "release/1.0", settings: settings(),
            rules: [
                AutoDeployRule(pattern: "release/*", target: .preview),
                AutoDeployRule(pattern: "release/**", target: .production),
            ],
            deploys: true, target: .preview, matched: "release/*", approval: false),
        Case(
            name: "rules: an exclusion rule stops the branch", branch: "release/wip", settings: settings(),
            rules: [
                AutoDeployRule(pattern: "!release/wip", target: .preview),
                AutoDeployRule(pattern: "release/*", target: .production),
            ],
            deploys: false, target: nil, matched: "!release/wip", approval: false),
        Case(
            name: "rules: no rule matches, the settings decide", branch: "feature/x", settings: settings(),
            rules: [AutoDeployRule(pattern: "release/*", target: .production)], deploys: true, target: .preview,
            matched: nil, approval: false),
        Case(
            name: "approval from the settings", branch: "feature/x", settings: settings(approval: true), rules: [],
            deploys: true, target: .preview, matched: nil, approval: true),
        Case(
            name: "approval from the settings applies to a rule too", branch: "hotfix-1",
            settings: settings(approval: true), rules: [AutoDeployRule(pattern: "hotfix-?", target: .preview)],
            deploys: true, target: .preview, matched: "hotfix-?", approval: true),
    ]

    @Test(arguments: 0..<cases.count)
    func decides(index: Int) {
        let item = Self.cases[index]
        let decision = AutoDeployPolicy.evaluate(branch: item.branch, settings: item.settings, rules: item.rules)
        #expect(decision.wouldDeploy == item.deploys, "\(item.name): \(decision.reason)")
        #expect(decision.target == item.target, "\(item.name)")
        #expect(decision.matchedPattern == item.matched, "\(item.name)")
        #expect(decision.requiresApproval == item.approval, "\(item.name)")
        #expect(!decision.reason.isEmpty)
    }

    @Test func skipMarkers() {
        #expect(AutoDeployPolicy.skipMarker(in: "fix typo [skip ci]") == "[skip ci]")
        #expect(AutoDeployPolicy.skipMarker(in: "docs\n\n[CI SKIP]") == "[ci skip]")
        #expect(AutoDeployPolicy.skipMarker(in: "[vercel skip] wip") == "[vercel skip]")
        #expect(AutoDeployPolicy.skipMarker(in: "skip ci without brackets") == nil)
        #expect(AutoDeployPolicy.skipMarker(in: nil) == nil)
    }
}
