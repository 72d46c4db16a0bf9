import Platform
import PlatformHost
import Testing

@Suite struct UploadAuditTests {
    static let cases: [(path: String, category: UploadAudit.Category?)] = [
        ("src/app.js", nil),
        ("README.md", nil),
        ("docs/guide.md", nil),
        ("public/hero.png", nil),
        ("dist/app.js.map", nil),
        ("src/__tests__/app.js", .tests),
        ("tests/api/users.py", .tests),
        ("packages/web/test/fixtures/big.json", .tests),
        ("src/button.test.tsx", .tests),
        ("src/button.spec.ts", .tests),
        ("cypress/e2e/login.cy.js", .tests),
        (".github/workflows/ci.yml", .ci),
        (".gitlab-ci.yml", .ci),
        ("coverage/lcov.info", .coverage),
        ("npm-debug-2.log", .logs),
        ("backups/db.sql", .archives),
        ("site.tar.gz", .archives),
        (".vscode/settings.json", .editor),
        ("src/app.js.orig", .editor),
    ]

    @Test(arguments: 0..<cases.count)
    func classifies(index: Int) {
        let (path, category) = Self.cases[index]
        #expect(UploadAudit.category(of: path) == category, "\(path)")
    }

    @Test func summarizesWithTheLargestExamplesFirst() {
        let summary = UploadAudit.summarize([
            ("src/app.js", 1000), ("tests/a.js", 300), ("tests/b.js", 500), ("coverage/lcov.info", 200),
        ])
        #expect(summary.files == 4 && summary.bytes == 2000)
        #expect(summary.unneededFiles == 3 && summary.unneededBytes == 1000)
        #expect(summary.byCategory == ["tests": 800, "coverage": 200])
        #expect(summary.examples == ["tests/b.js", "tests/a.js", "coverage/lcov.info"])
    }
}
