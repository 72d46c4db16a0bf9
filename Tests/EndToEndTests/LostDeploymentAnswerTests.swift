import Foundation
import TestSupport
import Testing
import Vercel

extension SyncJobSuites {
    /// From the adversarial pass, round two: a deployment whose answer was lost is found by the
    /// sync job. Among the suites that run the job, so it settles no other test's work meanwhile.
    @Suite struct LostDeploymentAnswerTests {
        let client: StackClient
        let fixtures = StackFixtures()

        init() throws {
            client = try StackClient()
        }

        static func json(_ object: [String: Any]) -> String {
            String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        }

        /// Vercel makes a deployment but its answer never comes (it answers after the request's
        /// 10 s): the deploy is answered 504 and the deployment is not recorded. The sync job finds it
        /// at Vercel by the attempt's id in its `meta`: recorded when the project is still linked,
        /// cancelled when it was unlinked meanwhile. Nothing is left untracked and building.
        @Test func aDeploymentWhoseAnswerWasLostIsAdoptedOrCancelledByTheSyncJob() async throws {
            let kept = try await LinkedProjectFixture.make(fixtures, client, webhooks: false)
            let dropped = try await LinkedProjectFixture.make(fixtures, client, webhooks: false)
            let slow = ["latencyMs": 11_000, "buildMs": 120_000]
            for linked in [kept, dropped] { try await linked.connected.account.setFaults(slow) }
            let client = client
            let requests = [kept, dropped].map { linked in
                (
                    "\(linked.base)/deploy",
                    Self.json([
                        "userId": linked.user.uuidString, "deploymentType": "preview", "gitSource": ["branch": "main"],
                    ])
                )
            }
            let replies = try await withThrowingTaskGroup(of: StackClient.Reply.self) { group in
                for (path, body) in requests { group.addTask { try await client.signed("POST", path, json: body) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            for reply in replies { #expect(reply.status == 504 && reply.code == "VERCEL_TIMEOUT", "\(reply.text)") }
            for linked in [kept, dropped] {
                try await linked.connected.account.setFaults(["latencyMs": 0, "buildMs": 120_000])
            }
            let unlinked = try await client.signed(
                "POST", "\(dropped.base)/projects/unlink", json: Self.json(["userId": dropped.user.uuidString]))
            #expect(unlinked.status == 200, "\(unlinked.text)")

            /// The attempt left over for `linked`, once Vercel has made its deployment.
            func orphan(of linked: LinkedProjectFixture) async throws -> (attempt: String, deployment: String)? {
                let attempt =
                    try fixtures.db.query(
                        "SELECT id FROM vercel_deploy_attempts WHERE project_id = \(linked.project)"
                    ).first?["id"] ?? nil
                guard let attempt else { return nil }
                for _ in 0..<50 {
                    let made = try linked.connected.vercel.deployments(
                        projectID: linked.vercelProject.id, linked.connected.credentials,
                        meta: [("sheenAttemptId", attempt)]
                    ).items
                    if let deployment = made.first { return (attempt, deployment.uid) }
                    try await Task.sleep(for: .milliseconds(100))
                }
                return nil
            }
            let keptOrphan = try #require(try await orphan(of: kept), "no attempt left for the linked project")
            let droppedOrphan = try #require(try await orphan(of: dropped), "no attempt left for the unlinked project")
            #expect(
                try fixtures.db.query("SELECT 1 AS x FROM vercel_deployments WHERE project_id = \(kept.project)")
                    .isEmpty)

            #expect(try JobRun.run("deployment-sync", overrides: ["SHEEN_DEPLOY_ATTEMPT_GRACE_SECONDS": "0"]) == 0)

            let recorded = try fixtures.db.query(
                "SELECT deployment_id, created_by FROM vercel_deployments WHERE project_id = \(kept.project)")
            #expect(recorded.map { $0["deployment_id"] ?? nil } == [keptOrphan.deployment])
            #expect(recorded.first?["created_by"] == kept.user.uuidString.lowercased())
            let cancelled = try dropped.connected.vercel.deployment(
                droppedOrphan.deployment, dropped.connected.credentials)
            #expect(cancelled.readyState == "CANCELED", "\(cancelled.readyState)")
            let left = try fixtures.db.query(
                "SELECT id FROM vercel_deploy_attempts WHERE id IN (\(keptOrphan.attempt)::uuid, \(droppedOrphan.attempt)::uuid)"
            )
            #expect(left.isEmpty, "attempts left: \(left.count)")
        }
    }
}
