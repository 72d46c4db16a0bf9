import Foundation
import TestSupport
import Testing

/// `vercel-job-webhook-cleanup` forgets what is past its keeping: here, runtime errors older than
/// a day go and newer ones stay.
@Suite struct WebhookCleanupTests {
    let fixtures = StackFixtures()

    @Test func runtimeErrorsOlderThanADayAreForgottenAndNewerOnesKept() throws {
        let project = try fixtures.project(owner: try fixtures.user())
        try fixtures.db.execute(
            """
            INSERT INTO vercel_runtime_errors (deployment_id, project_id, row_id, logged_at, level, source, request_method,
              request_path, status, message, created_at)
            SELECT 'dpl_cleanup', \(project)::uuid, name, now() - age, 'error', 'serverless', 'GET', '/', 500, 'boom',
              now() - age
            FROM (VALUES ('old', interval '25 hours'), ('new', interval '2 hours')) AS rows (name, age)
            """)
        #expect(try JobRun.run("webhook-cleanup") == 0)
        let kept = try fixtures.db.query(
            "SELECT row_id FROM vercel_runtime_errors WHERE project_id = \(project) ORDER BY row_id"
        ).map { $0["row_id"] }
        #expect(kept == ["new"])
    }
}
