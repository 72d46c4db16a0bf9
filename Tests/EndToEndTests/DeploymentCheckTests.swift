import Foundation
import Postgres
import TestSupport
import Testing
import Vercel

extension SyncJobSuites {
    /// A deployment's smoke checks through nginx against the simulator: the deploy route registers one
    /// blocking check while the build runs, the sync job probes the READY deployment through nginx's
    /// `*.vercel.app` server and concludes it; a page that answers 500 keeps the deployment out of
    /// production, the user sees which check failed and its owner is alerted; a rerun after the fix
    /// lets Vercel promote it. A deployment made elsewhere gets its check from `deployment.created`.
    @Suite(.serialized) struct DeploymentCheckTests {
        let client: StackClient
        let fixtures = StackFixtures()

        init() throws {
            client = try StackClient()
        }

        func runSync() throws {
            #expect(try JobRun.run("deployment-sync") == 0)
        }

        /// `GET …/deployments/:id`: the whole answer.
        func detail(_ linked: LinkedProjectFixture, _ id: String) async throws -> [String: Any] {
            try #require(try await client.signed("GET", "\(linked.base)/deployments/\(id)?userId=\(linked.user)").json)
        }

        /// Waits until `deployment.created` has stored the deployment's row.
        func waitForRow(_ linked: LinkedProjectFixture, _ id: String) async throws {
            var seen: String?
            for _ in 0..<200 where seen == nil {
                seen = try linked.storedState(id)
                if seen == nil { try await Task.sleep(for: .milliseconds(50)) }
            }
            try #require(seen != nil, "no row for \(id)")
        }

        func site(_ linked: LinkedProjectFixture, _ id: String, _ behaviour: [String: Any]) async throws {
            _ = try await linked.connected.account.admin("PUT", "/_sim/deployments/\(id)/site", behaviour)
        }

        @Test func aPageAnswering500NeverBecomesProductionAndARerunAfterTheFixPromotesIt() async throws {
            let linked = try await LinkedProjectFixture.make(fixtures, client, buildMs: 600_000, smokeChecks: true)
            let accepted = try await linked.deploy(["deploymentType": "production", "gitSource": ["branch": "main"]])
            let id = try #require(
                (accepted.json?["deployment"] as? [String: Any])?["id"] as? String, "\(accepted.text)")

            // Registered with Vercel while it builds: one blocking check.
            let registered = try linked.connected.vercel.checks(deploymentID: id, linked.connected.credentials)
            try #require(registered.count == 1, "\(registered)")
            #expect(registered[0].name == "Smoke checks" && registered[0].status == "registered")
            let building = try await detail(linked, id)
            #expect((building["checks"] as? [String: Any])?["status"] as? String == "registered", "\(building)")
            #expect((building["checks"] as? [String: Any])?["blocking"] as? Bool == true)

            try await site(linked, id, ["status": 500, "body": "Internal Server Error"])
            _ = try await linked.connected.account.admin("POST", "/_sim/deployments/\(id)/finish", nil)
            #expect(try await linked.waitForStoredState(id, "READY") == "READY")
            try runSync()

            // Built, never production: Vercel keeps it staged, and the user sees which check failed.
            let failed = try await detail(linked, id)
            let checks = try #require(failed["checks"] as? [String: Any], "\(failed)")
            #expect(
                checks["status"] as? String == "completed" && checks["conclusion"] as? String == "failed", "\(checks)")
            let results = try #require(checks["results"] as? [[String: Any]])
            #expect(results.count == 1 && results[0]["path"] as? String == "/" && results[0]["status"] as? Int == 500)
            #expect(results[0]["reason"] as? String == "answered 500, expected 2xx")
            let deployment = try #require(failed["deployment"] as? [String: Any])
            #expect(
                deployment["state"] as? String == "READY" && deployment["promoted"] as? Bool == false, "\(deployment)")
            let atVercel = try linked.connected.vercel.deployment(id, linked.connected.credentials)
            #expect(atVercel.readySubstate == "STAGED" && (atVercel.alias ?? []).isEmpty)
            #expect(
                try linked.connected.vercel.checks(deploymentID: id, linked.connected.credentials).first?.conclusion
                    == "failed")
            let probed = try JSONSerialization.jsonObject(
                with: try await linked.connected.account.admin("GET", "/_sim/deployments/\(id)/site/requests", nil))
            #expect(probed as? [String] == ["/"], "probed through nginx's *.vercel.app server: \(probed)")
            // Its owner is alerted, once, with the failing check.
            let alerts = try fixtures.db.query(
                """
                SELECT payload->>'body' AS body FROM vercel_jobs WHERE kind = 'alert'
                  AND payload->>'type' = 'deployment.check_failed' AND payload->>'body' LIKE \("%" + id + "%")
                """)
            try #require(alerts.count == 1)
            let body = try #require(alerts[0]["body"])
            #expect(
                body.contains("\"severity\":\"critical\"") && body.contains("answered 500, expected 2xx"), "\(body)")
            // A promotion the user asks for is refused while the check holds it.
            let promote = try await client.signed(
                "POST", "\(linked.base)/deployments/\(id)/promote", json: #"{"userId":"\#(linked.user)"}"#)
            #expect(promote.status == 409 && promote.code == "CHECKS_NOT_PASSED", "\(promote.text)")
            #expect((promote.json?["checks"] as? [String: Any])?["conclusion"] as? String == "failed")
            #expect(try linked.connected.vercel.deployment(id, linked.connected.credentials).readySubstate == "STAGED")

            // A rerun before it concluded is refused; after the fix, one rerun promotes it.
            try await site(linked, id, [:])
            let rerun = try await client.signed(
                "POST", "\(linked.base)/deployments/\(id)/checks/rerun", json: #"{"userId":"\#(linked.user)"}"#)
            #expect(rerun.status == 202, "\(rerun.text)")
            #expect((rerun.json?["checks"] as? [String: Any])?["status"] as? String == "registered")
            let again = try await client.signed(
                "POST", "\(linked.base)/deployments/\(id)/checks/rerun", json: #"{"userId":"\#(linked.user)"}"#)
            #expect(again.status == 409 && again.code == "CHECK_NOT_CONCLUDED", "\(again.text)")
            try runSync()
            let passed = try await detail(linked, id)
            #expect((passed["checks"] as? [String: Any])?["conclusion"] as? String == "succeeded", "\(passed)")
            #expect((passed["checks"] as? [String: Any])?["runs"] as? Int == 2)
            let promoted = try linked.connected.vercel.deployment(id, linked.connected.credentials)
            #expect(promoted.readySubstate == "PROMOTED" && !(promoted.alias ?? []).isEmpty, "\(promoted)")

            // A rerun asked of Vercel itself (its dashboard's button) arrives as
            // `deployment.check-rerequested`: the check is reopened here and run again.
            try linked.connected.vercel.rerequestCheck(
                checkID: registered[0].id, deploymentID: id, linked.connected.credentials)
            // Reopened (or, by another suite's run of the sync job, already run again).
            var reopened = false
            for _ in 0..<200 where !reopened {
                let row = try fixtures.db.query(
                    "SELECT status::text AS status, runs FROM vercel_deployment_checks WHERE deployment_id = \(id)"
                ).first
                let runs = try row?.decode("runs", as: Int.self) ?? 0
                reopened = row?["status"] == "registered" || runs >= 3
                if !reopened { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(reopened)
            try runSync()
            let third = try #require(try await detail(linked, id)["checks"] as? [String: Any])
            #expect(third["runs"] as? Int == 3 && third["conclusion"] as? String == "succeeded", "\(third)")
        }

        @Test func aDeploymentMadeElsewhereGetsItsCheckFromTheCreatedWebhook() async throws {
            let linked = try await LinkedProjectFixture.make(fixtures, client, buildMs: 600_000, smokeChecks: true)
            // Made at Vercel directly (its CLI, its git integration): the service learns of it by webhook.
            let made = try linked.connected.vercel.createDeployment(
                VercelDeploymentRequest(
                    name: linked.vercelProject.name, project: linked.vercelProject.id, target: "production",
                    gitSource: .github(org: "acme", repo: "storefront", ref: "main", sha: nil)),
                linked.connected.credentials)
            // Its row, from `deployment.created`, which also queued the registration.
            try await waitForRow(linked, made.id)
            #expect(try linked.connected.vercel.checks(deploymentID: made.id, linked.connected.credentials).isEmpty)
            try runSync()
            let registered = try linked.connected.vercel.checks(deploymentID: made.id, linked.connected.credentials)
            #expect(registered.map(\.status) == ["registered"], "\(registered)")
            // Still held while the check is pending, then promoted once the healthy page passes.
            _ = try await linked.connected.account.admin("POST", "/_sim/deployments/\(made.id)/finish", nil)
            #expect(try await linked.waitForStoredState(made.id, "READY") == "READY")
            #expect(
                try linked.connected.vercel.deployment(made.id, linked.connected.credentials).readySubstate == "STAGED")
            try runSync()
            let checks = try #require(try await detail(linked, made.id)["checks"] as? [String: Any])
            #expect(checks["conclusion"] as? String == "succeeded", "\(checks)")
            #expect(
                try linked.connected.vercel.deployment(made.id, linked.connected.credentials).readySubstate
                    == "PROMOTED")
        }

        @Test func aBuildOverBeforeItsCheckIsProbedAllTheSameButNotHeld() async throws {
            // Made at Vercel directly and built before the sync job came to register its check: Vercel
            // refuses the check and promotes the deployment as built; the probe still tells the user.
            let linked = try await LinkedProjectFixture.make(fixtures, client, buildMs: 600_000, smokeChecks: true)
            let made = try linked.connected.vercel.createDeployment(
                VercelDeploymentRequest(
                    name: linked.vercelProject.name, project: linked.vercelProject.id,
                    gitSource: .github(org: "acme", repo: "storefront", ref: "main", sha: nil)),
                linked.connected.credentials)
            try await waitForRow(linked, made.id)
            _ = try await linked.connected.account.admin("POST", "/_sim/deployments/\(made.id)/finish", nil)
            #expect(try await linked.waitForStoredState(made.id, "READY") == "READY")
            try runSync()
            #expect(try linked.connected.vercel.checks(deploymentID: made.id, linked.connected.credentials).isEmpty)
            let checks = try #require(try await detail(linked, made.id)["checks"] as? [String: Any])
            #expect(checks["blocking"] as? Bool == false && checks["conclusion"] as? String == "succeeded", "\(checks)")
            #expect((checks["reason"] as? String)?.contains("Vercel refused the check") == true, "\(checks)")
            #expect((checks["results"] as? [[String: Any]])?.first?["passed"] as? Bool == true)
        }

        @Test func aRegistrationLeftByARunThatDiedIsTakenOverAndItsCheckAdoptedNotDoubled() async throws {
            let linked = try await LinkedProjectFixture.make(fixtures, client, buildMs: 600_000, smokeChecks: true)
            let made = try linked.connected.vercel.createDeployment(
                VercelDeploymentRequest(
                    name: linked.vercelProject.name, project: linked.vercelProject.id, target: "production",
                    gitSource: .github(org: "acme", repo: "storefront", ref: "main", sha: nil)),
                linked.connected.credentials)
            try await waitForRow(linked, made.id)
            // A run registered the check at Vercel and died before it recorded it: its claim lapsed,
            // and nothing is queued for it any more.
            let orphan = try linked.connected.vercel.createCheck(
                VercelCheckRequest(name: "Smoke checks", blocking: true), deploymentID: made.id,
                linked.connected.credentials)
            try fixtures.db.execute(
                """
                DELETE FROM vercel_jobs WHERE kind = 'deployment.check' AND payload->>'deploymentId' = \(made.id);
                """)
            try fixtures.db.execute(
                """
                INSERT INTO vercel_deployment_checks (deployment_id, project_id, attempts, claimed_until)
                VALUES (\(made.id), \(linked.project), 1, now() - interval '1 minute')
                """)
            _ = try await linked.connected.account.admin("POST", "/_sim/deployments/\(made.id)/finish", nil)
            #expect(try await linked.waitForStoredState(made.id, "READY") == "READY")
            try runSync()
            let atVercel = try linked.connected.vercel.checks(deploymentID: made.id, linked.connected.credentials)
            #expect(atVercel.map(\.id) == [orphan.id] && atVercel.first?.conclusion == "succeeded", "\(atVercel)")
            let checks = try #require(try await detail(linked, made.id)["checks"] as? [String: Any])
            #expect(checks["blocking"] as? Bool == true && checks["conclusion"] as? String == "succeeded", "\(checks)")
            #expect(
                try linked.connected.vercel.deployment(made.id, linked.connected.credentials).readySubstate
                    == "PROMOTED")
        }

        @Test func aProjectWithChecksOffGetsNoneAndIsPromotedAsBuilt() async throws {
            let linked = try await LinkedProjectFixture.make(fixtures, client, buildMs: 600_000)
            let id = try await linked.deployPreview()
            #expect(try linked.connected.vercel.checks(deploymentID: id, linked.connected.credentials).isEmpty)
            try runSync()
            #expect(try linked.connected.vercel.checks(deploymentID: id, linked.connected.credentials).isEmpty)
            let detail = try await detail(linked, id)
            #expect(detail["checks"] is NSNull, "\(detail)")
            let rerun = try await client.signed(
                "POST", "\(linked.base)/deployments/\(id)/checks/rerun", json: #"{"userId":"\#(linked.user)"}"#)
            #expect(rerun.status == 404 && rerun.code == "CHECK_NOT_FOUND", "\(rerun.text)")
        }
    }
}
