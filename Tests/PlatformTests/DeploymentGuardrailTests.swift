import Platform
import PlatformHost
import Testing

@Suite struct DeploymentGuardrailTests {
    static let cases: [(production: Bool, branch: String?, blocked: Bool)] = [
        (true, "main", false),
        (true, "feature/x", true),
        (true, "Main", true),
        (true, nil, false),
        (false, "feature/x", false),
        (false, nil, false),
    ]

    @Test(arguments: 0..<cases.count)
    func onlyProductionFromAnotherBranchIsBlocked(index: Int) {
        let (production, branch, blocked) = Self.cases[index]
        let guardrail = DeploymentGuardrail.evaluate(production: production, branch: branch, productionBranch: "main")
        #expect(guardrail.isBlocked == blocked)
        #expect(guardrail.warnings.count == (blocked ? 1 : 0))
    }

    @Test func theWarningNamesBothBranches() {
        let warning = DeploymentGuardrail.evaluate(production: true, branch: "hotfix", productionBranch: "release")
            .warnings.first
        #expect(warning?.contains("'release'") == true && warning?.contains("'hotfix'") == true)
    }

    static let branches: [(String, Bool)] = [
        ("main", true), ("feature/cart-v2", true), ("release/2026.11", true), ("user@host", true),
        ("", false), ("@", false), ("-rf", false), ("a..b", false), ("a b", false), ("a~1", false), ("a^", false),
        ("a:b", false),
        ("a?", false), ("a*", false), ("a[", false), ("a\\b", false), ("/lead", false), ("trail/", false),
        ("a//b", false),
        ("a.lock", false), ("a/b.lock/c", false), ("dot.", false), ("x/.hidden", false), ("a@{1}", false),
        ("tab\tname", false),
        (String(repeating: "b", count: 256), false),
    ]

    @Test(arguments: 0..<branches.count)
    func branchNamesFollowGitsRules(index: Int) {
        let (name, valid) = Self.branches[index]
        #expect(GitRef.isValidBranch(name) == valid, "\(name)")
    }
}
