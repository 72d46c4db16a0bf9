import DeploymentsGroup
import Foundation
import Platform
import PlatformHost
import Testing

/// The smoke-check settings of the `deployments` group, called in process: the default, a
/// replacement, a refusal, and an unlinked project.
@Suite(.serialized) struct SmokeCheckRouteTests {
    let harness: GroupHarness
    let user: UUID
    let project: UUID

    init() throws {
        harness = try GroupHarness(DeploymentsGroup.group)
        user = try harness.user()
        project = try harness.project(of: user)
    }

    var base: String { "/v1/projects/\(project.uuidString.lowercased())/vercel" }

    @Test func checksAreTheDefaultUntilSetAndRefusedWhenTheyCouldLeaveTheHost() throws {
        defer { harness.drop() }
        #expect(try harness.call("GET", "\(base)/checks", as: user).code == "PROJECT_NOT_LINKED")
        try harness.link(project, connection: try harness.connect(user))
        let fresh = try harness.call("GET", "\(base)/checks", as: user)
        #expect(fresh.status == 200 && fresh.json["custom"] as? Bool == false, "\(fresh.text)")

        let set = try harness.call(
            "PUT", "\(base)/checks", as: user, json: ["checks": [["path": "/pricing", "expectStatus": 200]]])
        #expect(set.status == 200 && set.json["custom"] as? Bool == true, "\(set.text)")
        let stored = try #require(
            try harness.call("GET", "\(base)/checks", as: user).json["checks"] as? [[String: Any]])
        #expect(stored.first?["path"] as? String == "/pricing" && stored.first?["latencyBudgetMs"] as? Int == 5000)

        let refused = try harness.call(
            "PUT", "\(base)/checks", as: user, json: ["checks": [["path": "//evil.example"]]])
        #expect(refused.status == 400 && refused.code == "INVALID_SMOKE_CHECK", "\(refused.text)")
    }

    @Test func rollbackIsOnByDefaultAndItsSettingsAreBounded() throws {
        defer { harness.drop() }
        try harness.link(project, connection: try harness.connect(user))
        let fresh = try harness.call("GET", "\(base)/checks", as: user)
        let standard = try #require(fresh.json["rollback"] as? [String: Any], "\(fresh.text)")
        #expect(standard["enabled"] as? Bool == true && standard["windowMinutes"] as? Int == 15)
        #expect(standard["failures"] as? Int == 3)

        for (window, failures) in [(0, 3), (1441, 3), (15, 0), (15, 61)] {
            let refused = try harness.call(
                "PUT", "\(base)/checks", as: user,
                json: ["checks": [], "rollback": ["enabled": true, "windowMinutes": window, "failures": failures]])
            #expect(refused.status == 400 && refused.code == "INVALID_SMOKE_CHECK", "\(refused.text)")
        }
        // Turned off with the default checks: kept, and audited at medium.
        let off = try harness.call(
            "PUT", "\(base)/checks", as: user,
            json: ["checks": [], "rollback": ["enabled": false, "windowMinutes": 30, "failures": 5]])
        #expect(off.status == 200, "\(off.text)")
        let stored = try #require(
            try harness.call("GET", "\(base)/checks", as: user).json["rollback"] as? [String: Any])
        #expect(stored["enabled"] as? Bool == false && stored["windowMinutes"] as? Int == 30)
        #expect(stored["failures"] as? Int == 5)
        let severity: String? = try harness.db.query(
            """
            SELECT severity FROM vercel_security_audit_log WHERE project_id = \(project)
              AND action = 'VERCEL_PROJECT_SETTINGS_CHANGED' ORDER BY id DESC LIMIT 1
            """
        ).first?["severity"]
        #expect(severity == "MEDIUM")
    }

    @Test func aRerunNeedsAConcludedCheckAndQueuesItsRun() throws {
        defer { harness.drop() }
        try harness.link(project, connection: try harness.connect(user))
        let rerun = "\(base)/deployments/dpl_check1/checks/rerun"
        #expect(try harness.call("POST", rerun, as: user).code == "DEPLOYMENT_NOT_FOUND")
        try harness.db.execute(
            """
            INSERT INTO vercel_deployments (deployment_id, created_at, project_id, vercel_project_id, deployment_url,
              deployment_state, deployment_type)
            VALUES ('dpl_check1', vercel_deployment_created_at('dpl_check1', now()), \(project), 'prj_1',
              'https://dpl-check1.vercel.app', 'READY', 'PRODUCTION')
            """)
        #expect(try harness.call("POST", rerun, as: user).code == "CHECK_NOT_FOUND")
        try harness.db.execute(
            """
            INSERT INTO vercel_deployment_checks (deployment_id, project_id, status, runs)
            VALUES ('dpl_check1', \(project), 'running', 1)
            """)
        let running = try harness.call("POST", rerun, as: user)
        #expect(running.status == 409 && running.code == "CHECK_NOT_CONCLUDED", "\(running.text)")
        #expect(running.json["status"] as? String == "running")

        // Concluded, with no check at Vercel to rerequest: reopened here and its run queued, once.
        try harness.db.execute(
            """
            UPDATE vercel_deployment_checks SET status = 'completed', conclusion = 'failed',
              results = '[{"path":"/","status":500,"durationMs":12,"passed":false,"reason":"answered 500, expected 2xx"}]'
            WHERE deployment_id = 'dpl_check1'
            """)
        let shown = try harness.call("GET", "\(base)/deployments/dpl_check1", as: user)
        let checks = try #require(shown.json["checks"] as? [String: Any], "\(shown.text)")
        #expect(checks["conclusion"] as? String == "failed" && checks["blocking"] as? Bool == false)
        #expect((checks["results"] as? [[String: Any]])?.first?["reason"] as? String == "answered 500, expected 2xx")
        let accepted = try harness.call("POST", rerun, as: user)
        #expect(accepted.status == 202, "\(accepted.text)")
        #expect((accepted.json["checks"] as? [String: Any])?["status"] as? String == "unregistered")
        let queued: Int = try #require(
            try harness.db.query(
                """
                SELECT count(*)::int AS n FROM vercel_jobs WHERE kind = 'deployment.check'
                  AND payload->>'action' = 'run' AND payload->>'deploymentId' = 'dpl_check1' AND status = 'pending'
                """
            ).first?.decode("n"))
        #expect(queued == 1)
        #expect(try harness.call("POST", rerun, as: user).code == "CHECK_NOT_CONCLUDED")
    }
}
