import Crypto
import Foundation
import Postgres
import TestSupport
import Testing
import Vercel

extension SyncJobSuites {
    /// Rollback on its own, through nginx against the simulator: two commits pushed to `main` deploy
    /// to production one after the other, each promoted by Vercel once its smoke checks pass; the sync
    /// job then probes production once a minute (here: a run, with the minute between runs moved
    /// along in the database). When the second starts answering 500, production goes back to the
    /// first once, audited and alerted, and auto-deploy does not put the commit back; not when the
    /// first fails too, and not when the user promoted another meanwhile.
    @Suite(.serialized) struct ProductionRollbackTests {
        let client: StackClient
        let fixtures = StackFixtures()

        init() throws {
            client = try StackClient()
        }

        /// A project auto-deploying `main` to production, with rollback after two failed runs.
        struct Production {
            let linked: LinkedProjectFixture
            let secret: String
            let repository: String
            let first: String
            let second: String
            let secondSha: String

            var base: String { linked.base }
            var user: UUID { linked.user }
            var credentials: VercelClient.Credentials { linked.connected.credentials }
            var vercel: VercelClient { linked.connected.vercel }
        }

        static func json(_ object: [String: Any]) -> String {
            String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        }

        func runSync() throws {
            #expect(try JobRun.run("deployment-sync") == 0)
        }

        /// The minute between two runs of the sync job: the watch is due again.
        func minutePasses(_ production: Production) throws {
            try fixtures.db.execute(
                "UPDATE vercel_production_watch SET claimed_until = NULL WHERE project_id = \(production.linked.project)"
            )
        }

        /// A minute passes and the sync job runs: the watch of `id` is probed once more (by this run,
        /// or by another suite's run of the job that claimed it first) and, at the second failure,
        /// decided.
        func nextRun(_ production: Production, _ id: String) async throws {
            let before = try watchRow(id)
            try minutePasses(production)
            try runSync()
            guard before.status == "watching" else { return }
            for _ in 0..<200 {
                let now = try watchRow(id)
                // Probed; and at the project's two failures, decided (ended) as well.
                if now.probes > before.probes, now.status != "watching" || now.failures < 2 { return }
                try await Task.sleep(for: .milliseconds(50))
            }
        }

        func watchRow(_ id: String) throws -> (status: String, probes: Int, failures: Int) {
            let row = try #require(
                try fixtures.db.query(
                    "SELECT status::text AS status, probes, failures FROM vercel_production_watch WHERE deployment_id = \(id)"
                ).first)
            return (try row.decode("status"), try row.decode("probes"), try row.decode("failures"))
        }

        func site(_ production: Production, _ id: String, _ behaviour: [String: Any]) async throws {
            _ = try await production.linked.connected.account.admin("PUT", "/_sim/deployments/\(id)/site", behaviour)
        }

        /// A push of `sha` to `main`, as GitHub sends it: the decision the service answered.
        func push(
            _ sha: String, repository: String, secret: String
        ) async throws -> [String: Any] {
            let body = Data(
                #"{"ref":"refs/heads/main","after":"\#(sha)","repository":{"full_name":"\#(repository)"}}"#.utf8)
            let signature = "sha256=" + Hex.encode(HMAC.sha256(key: Array(secret.utf8), message: Array(body)))
            let reply = try await client.send(
                "POST", "/v1/webhooks/git/github", body: body,
                headers: [
                    "content-type": "application/json", "X-GitHub-Event": "push",
                    "X-GitHub-Delivery": UUID().uuidString, "X-Hub-Signature-256": signature,
                ])
            #expect(reply.status == 200, "\(reply.text)")
            return try #require((reply.json?["decisions"] as? [[String: Any]])?.first, "\(reply.text)")
        }

        /// Pushes `sha`, finishes its build and runs the sync job: its checks pass, Vercel promotes it.
        func deployToProduction(
            _ sha: String, _ linked: LinkedProjectFixture, repository: String, secret: String
        ) async throws -> String {
            let decision = try await push(sha, repository: repository, secret: secret)
            #expect(decision["decision"] as? String == "deployed", "\(decision)")
            let id = try #require(decision["deploymentId"] as? String, "\(decision)")
            _ = try await linked.connected.account.admin("POST", "/_sim/deployments/\(id)/finish", nil)
            #expect(try await linked.waitForStoredState(id, "READY") == "READY")
            // One run concludes its check; under load a step may be put off (a Vercel call that
            // timed out is tried again later), so the job's work for it is made due and run again.
            var concluded: String?
            var jobs: [String] = []
            for _ in 0..<3 where concluded == nil {
                try runSync()
                concluded =
                    try fixtures.db.query(
                        "SELECT conclusion FROM vercel_deployment_checks WHERE deployment_id = \(id)"
                    ).first?["conclusion"] ?? nil
                if concluded == nil {
                    jobs += try fixtures.db.query(
                        """
                        UPDATE vercel_jobs SET run_after = now() WHERE status = 'pending' AND payload->>'deploymentId' = \(id)
                        RETURNING kind || ' ' || coalesce(last_error, '-') AS job
                        """
                    ).compactMap { $0["job"] ?? nil }
                }
            }
            #expect(concluded == "succeeded", "jobs put off: \(jobs)")
            let atVercel = try linked.connected.vercel.deployment(id, linked.connected.credentials)
            #expect(atVercel.readySubstate == "PROMOTED", "\(atVercel.readySubstate ?? "-") jobs put off: \(jobs)")
            return id
        }

        func twoProductions() async throws -> Production {
            let repository = "acme/shop-\(UUID().uuidString.prefix(6).lowercased())"
            let linked = try await LinkedProjectFixture.make(
                fixtures, client, buildMs: 600_000, repository: .init(type: "github", repo: repository),
                smokeChecks: true)
            let git = try await client.signed(
                "PUT", "\(linked.base)/git",
                json: Self.json(["userId": linked.user.uuidString, "provider": "github", "repository": repository]))
            let secret = try #require(git.json?["webhookSecret"] as? String, "\(git.text)")
            let config = try await client.signed(
                "PUT", "\(linked.base)/auto-deploy/config",
                json: Self.json([
                    "userId": linked.user.uuidString, "branchPatterns": ["main"], "targetEnvironment": "auto",
                ]))
            #expect(config.status == 200, "\(config.text)")
            let settings = try await client.signed(
                "PUT", "\(linked.base)/checks",
                json: Self.json([
                    "userId": linked.user.uuidString, "checks": [],
                    "rollback": ["enabled": true, "windowMinutes": 10, "failures": 2],
                ]))
            #expect(settings.status == 200, "\(settings.text)")
            #expect(
                (settings.json?["rollback"] as? [String: Any])?["failures"] as? Int == 2, "\(settings.text)")

            let firstSha = String(repeating: "a1", count: 20)
            let secondSha = String(repeating: "b2", count: 20)
            let first = try await deployToProduction(firstSha, linked, repository: repository, secret: secret)
            let second = try await deployToProduction(secondSha, linked, repository: repository, secret: secret)
            return Production(
                linked: linked, secret: secret, repository: repository, first: first, second: second,
                secondSha: secondSha)
        }

        func watch(_ production: Production, _ id: String) async throws -> [String: Any] {
            let detail = try await client.signed(
                "GET", "\(production.base)/deployments/\(id)?userId=\(production.user)")
            return try #require(detail.json?["productionWatch"] as? [String: Any], "\(detail.text)")
        }

        func history(_ production: Production) throws -> [[String: String?]] {
            try fixtures.db.query(
                """
                SELECT action, deployment_id, previous_deployment_id, actor_user_id::text AS actor
                FROM vercel_production_history WHERE project_id = \(production.linked.project) ORDER BY id
                """
            ).map { row in
                ["action", "deployment_id", "previous_deployment_id", "actor"].reduce(into: [:]) { $0[$1] = row[$1] }
            }
        }

        func alerts(_ type: String, _ id: String) throws -> [String] {
            try fixtures.db.query(
                """
                SELECT payload->>'body' AS body FROM vercel_jobs WHERE kind = 'alert' AND payload->>'type' = \(type)
                  AND payload->>'body' LIKE \("%" + id + "%")
                """
            ).compactMap { $0["body"] }
        }

        @Test func aPromotedDeploymentThatStartsFailingIsRolledBackOnceAndNotDeployedAgain() async throws {
            let production = try await twoProductions()
            let (first, second) = (production.first, production.second)
            // Each promotion is watched; the second's watch ended the first's.
            let watched = try await watch(production, second)
            #expect(watched["status"] as? String == "watching" && watched["previousDeploymentId"] as? String == first)
            #expect(watched["probes"] as? Int == 1 && watched["failures"] as? Int == 0, "\(watched)")
            #expect(try await watch(production, first)["status"] as? String == "superseded")
            #expect(
                try production.vercel.productionState(
                    projectID: production.linked.vercelProject.id, production.credentials
                )
                .targets?.production?.id == second)

            // It starts answering 500: one failed run is not enough, the second rolls it back.
            try await site(production, second, ["status": 500, "body": "Internal Server Error"])
            try await nextRun(production, second)
            let once = try await watch(production, second)
            #expect(once["status"] as? String == "watching" && once["failures"] as? Int == 1, "\(once)")
            try await nextRun(production, second)
            let rolledBack = try await watch(production, second)
            #expect(rolledBack["status"] as? String == "rolled_back", "\(rolledBack)")
            #expect(rolledBack["failures"] as? Int == 2)
            #expect((rolledBack["reason"] as? String)?.contains("production went back to \(first)") == true)
            let failed = try #require((rolledBack["results"] as? [[String: Any]])?.first)
            #expect(failed["status"] as? Int == 500 && failed["passed"] as? Bool == false)

            // At Vercel: production is the first again, by a rollback.
            let state = try production.vercel.productionState(
                projectID: production.linked.vercelProject.id, production.credentials)
            #expect(state.targets?.production?.id == first, "\(state)")
            #expect(state.lastAliasRequest?.type == "rollback" && state.lastAliasRequest?.toDeploymentId == first)
            // Recorded as a move of the service's own (no user), audited, and alerted once.
            let moves = try history(production)
            #expect(moves.count == 1, "\(moves)")
            #expect(moves.first?["action"] == "rollback" && moves.first?["deployment_id"] == first)
            #expect(moves.first?["previous_deployment_id"] == second && moves.first?["actor"] == .some(nil))
            #expect(try production.linked.auditActions().filter { $0 == "DEPLOYMENT_ROLLED_BACK" }.count == 1)
            let alert = try alerts("deployment.rolled_back", second)
            #expect(alert.count == 1 && alert.first?.contains("\"severity\":\"critical\"") == true, "\(alert)")

            // Never twice: more runs leave it as it is.
            try await nextRun(production, second)
            #expect(try history(production).count == 1)
            #expect(try await watch(production, second)["status"] as? String == "rolled_back")

            // Auto-deploy does not put the commit back in production, however it is pushed again.
            let again = try await push(
                production.secondSha, repository: production.repository, secret: production.secret)
            #expect(again["decision"] as? String == "skipped", "\(again)")
            #expect((again["reason"] as? String)?.contains("rolled back") == true, "\(again)")
            let after = try production.vercel.productionState(
                projectID: production.linked.vercelProject.id, production.credentials)
            #expect(after.targets?.production?.id == first)
        }

        @Test func aFailingProductionIsNotRolledBackToOneThatFailsToo() async throws {
            let production = try await twoProductions()
            try await site(production, production.first, ["status": 503, "body": "down"])
            try await site(production, production.second, ["status": 500, "body": "down"])
            for _ in 0..<2 { try await nextRun(production, production.second) }
            let held = try await watch(production, production.second)
            #expect(held["status"] as? String == "held", "\(held)")
            #expect(
                (held["reason"] as? String)?.contains("\(production.first), fails its checks too") == true, "\(held)")
            #expect(
                try production.vercel.productionState(
                    projectID: production.linked.vercelProject.id, production.credentials
                )
                .targets?.production?.id == production.second)
            #expect(try history(production).isEmpty)
            #expect(try alerts("deployment.rollback_held", production.second).count == 1)
        }

        @Test func theUsersOwnPromotionMeanwhileWins() async throws {
            let production = try await twoProductions()
            try await site(production, production.second, ["status": 500, "body": "down"])
            try await nextRun(production, production.second)
            #expect(try await watch(production, production.second)["failures"] as? Int == 1)
            // The user moves production themselves before a second failed run.
            let promoted = try await client.signed(
                "POST", "\(production.base)/deployments/\(production.first)/promote",
                json: #"{"userId":"\#(production.user)"}"#)
            #expect(promoted.status == 200, "\(promoted.text)")
            let superseded = try await watch(production, production.second)
            #expect(superseded["status"] as? String == "superseded", "\(superseded)")
            #expect(superseded["reason"] as? String == "production moved to \(production.first)")
            for _ in 0..<2 { try await nextRun(production, production.second) }
            // Only the user's move: nothing rolled back on its own.
            let moves = try history(production)
            #expect(moves.map { $0["action"] } == ["promote"], "\(moves)")
            #expect(moves.first?["actor"] == .some(production.user.uuidString.lowercased()))
            #expect(try alerts("deployment.rolled_back", production.second).isEmpty)
        }
    }
}
