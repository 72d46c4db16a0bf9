import Foundation
import TestSupport
import Testing

/// A job that cannot read its configuration exits 78 (EX_CONFIG), as documented, before any work:
/// not 1, which would say its work failed.
@Suite struct JobConfigurationTests {
    @Test(arguments: [
        "deployment-sync", "domain-health", "git-deploy", "git-feedback", "token-refresh", "webhook-retry", "rekey",
    ])
    func aJobWhoseKeysCannotBeReadExitsMisconfigured(job: String) throws {
        #expect(try JobRun.run(job, overrides: ["TOKEN_ENCRYPTION_KEYS": "not-a-key-ring"]) == 78, "\(job)")
    }

    @Test func theAuditCheckpointWithoutItsKeyExitsMisconfigured() throws {
        #expect(try JobRun.run("audit-checkpoint", overrides: ["SHEEN_AUDIT_CHECKPOINT_KEY": "short"]) == 78)
    }
}
