import Foundation
import Postgres
import TestSupport
import Testing

extension SyncJobSuites {
    /// Why a build failed, and a build whose webhooks were lost: `vercel-job-deployment-sync` reads the
    /// deployment from Vercel once its build ends (or once it has been quiet too long), stores Vercel's
    /// error and writes the build's metrics row.
    @Suite(.serialized) struct BuildOutcomeTests {
        let client: StackClient
        let fixtures = StackFixtures()
        let settings: [String: String]

        init() throws {
            client = try StackClient()
            settings = try TestEnvironment.stackConfiguration()
        }

        func runSyncJob() throws {
            #expect(try JobRun.run("deployment-sync", overrides: ["SHEEN_STALE_DEPLOYMENT_MINUTES": "1"]) == 0)
        }

        func metrics(_ deployment: String) throws -> PostgresRow? {
            try fixtures.db.query(
                """
                SELECT outcome::text AS outcome, error_code, error_step, deployment_type::text AS target, framework,
                       queue_ms AS queued_ms, build_duration_ms AS build_ms
                FROM vercel_build_metrics
                WHERE deployment_id = \(deployment)
                """
            ).first
        }

        @Test func aFailedBuildShowsVercelsReasonAndItsMetrics() async throws {
            let linked = try await LinkedProjectFixture.make(fixtures, client, buildMs: 500)
            try await linked.connected.account.setFaults(["buildMs": 500, "failBuilds": 1])
            let id = try await linked.deployPreview()
            // The simulator's webhooks bring the deployment to ERROR, which queues its finalization.
            var state = ""
            for _ in 0..<100 where state != "ERROR" {
                try await Task.sleep(for: .milliseconds(100))
                state =
                    try fixtures.db.query(
                        "SELECT deployment_state::text AS s FROM vercel_deployments WHERE deployment_id = \(id)"
                    )
                    .first?["s"] ?? ""
            }
            #expect(state == "ERROR")
            try runSyncJob()
            let reply = try await client.signed("GET", "\(linked.base)/deployments/\(id)?userId=\(linked.user)")
            let error = try #require((reply.json?["deployment"] as? [String: Any])?["error"] as? [String: Any])
            #expect(error["code"] as? String == "BUILD_FAILED" && error["step"] as? String == "BUILD")
            #expect(error["message"] as? String == #"Command "npm run build" exited with 1"#)
            let row = try #require(try metrics(id))
            #expect(row["outcome"] == "ERROR" && row["error_code"] == "BUILD_FAILED" && row["error_step"] == "BUILD")
            #expect(row["target"] == "PREVIEW" && row["framework"] == "nextjs")
            #expect(row["queued_ms"] == "200" && row["build_ms"] == nil)
        }

        @Test func aDeploymentWhoseWebhooksWereLostIsReadAgainAndEnds() async throws {
            let linked = try await LinkedProjectFixture.make(fixtures, client, buildMs: 300, webhooks: false)
            let id = try await linked.deployPreview()
            try await Task.sleep(for: .milliseconds(600))
            #expect(
                try fixtures.db.query(
                    "SELECT deployment_state::text AS s FROM vercel_deployments WHERE deployment_id = \(id)")[0]["s"]
                    == "QUEUED")
            try fixtures.db.execute(
                "UPDATE vercel_deployments SET updated_at = now() - interval '1 hour' WHERE deployment_id = \(id)")
            try runSyncJob()
            #expect(
                try fixtures.db.query(
                    "SELECT deployment_state::text AS s FROM vercel_deployments WHERE deployment_id = \(id)")[0]["s"]
                    == "READY")
            let row = try #require(try metrics(id))
            #expect(row["outcome"] == "READY" && row["queued_ms"] == "120" && row["build_ms"] == "180")
        }
    }
}
