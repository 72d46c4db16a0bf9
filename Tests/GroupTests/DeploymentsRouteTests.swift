import DeploymentsGroup
import Foundation
import Kernel
import Platform
import PlatformHost
import Synchronization
import Testing
import Vercel

/// Every route of the `deployments` group, called in process with Vercel scripted: what each
/// answers, what it stores, and how many round trips to Postgres it costs.
@Suite(.serialized) struct DeploymentsRouteTests {
    let harness: GroupHarness
    let user: UUID
    let project: UUID
    let connection: UUID

    init() throws {
        harness = try GroupHarness(DeploymentsGroup.group)
        user = try harness.user()
        project = try harness.project(of: user)
        connection = try harness.connect(user)
    }

    var base: String { "/v1/projects/\(project.uuidString.lowercased())/vercel" }

    func storedDeployment(_ id: String, state: String, type: String = "PREVIEW", branch: String = "main") throws {
        try harness.db.execute(
            """
            INSERT INTO vercel_deployments (deployment_id, created_at, project_id, vercel_project_id, deployment_url, deployment_state,
              deployment_type, git_source)
            VALUES (\(id), vercel_deployment_created_at(\(id), now()), \(project), 'prj_1', \("https://\(id).vercel.app"),
              \(state)::vercel_deploy_state, \(type)::vercel_deploy_type, jsonb_build_object('branch', \(branch)::text))
            """)
    }

    @Test func theUsersVercelProjectsArePassedThroughWithVercelsCursor() throws {
        defer { harness.drop() }
        harness.vercel.on(
            "GET", "/v10/projects",
            json: #"{"projects":[\#(VercelJSON.project)],"pagination":{"count":1,"next":1790000000000}}"#)
        let answer = try harness.call("GET", "\(base)/projects?limit=5", as: user)
        #expect(answer.status == 200)
        #expect((answer.json["projects"] as? [[String: Any]])?.first?["id"] as? String == "prj_1")
        #expect((answer.json["pagination"] as? [String: Any])?["next"] as? Int == 1_790_000_000_000)
        #expect(try harness.call("GET", "\(base)/projects?limit=500", as: user).code == "INVALID_LIMIT")
    }

    @Test func linkingStoresTheMappingAndAProjectLinksOnce() throws {
        defer { harness.drop() }
        harness.vercel.on("GET", "/v9/projects/prj_1", json: VercelJSON.project)
        let linked = try harness.call("POST", "\(base)/projects/link", as: user, json: ["vercelProjectId": "prj_1"])
        #expect(linked.status == 200 && linked.json["linked"] as? Bool == true)
        #expect(linked.json["webhookUrl"] as? String == "https://service.test/v1/webhooks/vercel")
        let row = try harness.db.query(
            "SELECT production_branch, git_repository->>'org' AS org FROM vercel_project_mappings")[0]
        #expect(row["production_branch"] == "main" && row["org"] == "acme")
        #expect(
            try harness.call("POST", "\(base)/projects/link", as: user, json: ["vercelProjectId": "prj_1"]).code
                == "PROJECT_ALREADY_LINKED")
        #expect(try harness.call("POST", "\(base)/projects/link", as: user, json: [:]).code == "INVALID_LINK")
    }

    @Test func unlinkingRemovesTheMappingAndThenSaysNotLinked() throws {
        defer { harness.drop() }
        try harness.link(project, connection: connection)
        let answer = try harness.call("POST", "\(base)/projects/unlink", as: user)
        #expect(answer.status == 200 && answer.json["unlinked"] as? Bool == true)
        #expect(try harness.db.query("SELECT 1 AS x FROM vercel_project_mappings").isEmpty)
        #expect(try harness.call("POST", "\(base)/projects/unlink", as: user).code == "PROJECT_NOT_LINKED")
    }

    @Test func theProjectDetailShowsItsMapping() throws {
        defer { harness.drop() }
        try harness.link(project, connection: connection)
        harness.vercel.on("GET", "/v9/projects/prj_1", json: VercelJSON.project)
        let answer = try harness.call("GET", "\(base)/projects/prj_1", as: user)
        #expect(answer.status == 200)
        #expect((answer.json["project"] as? [String: Any])?["name"] as? String == "site")
        #expect((answer.json["mapping"] as? [String: Any])?["productionBranch"] as? String == "main")
    }

    /// Eight, and two for the link's shared lock with one to see the link is still there (an
    /// unlink waits for the deploys being made; see `WorkerServices.whileLinked`), and two for the
    /// deployment's smoke check (its claim, then the check Vercel registered).
    @Test func aDeployWithAnIdempotencyKeyCostsAtMostNineRoundTripsAndReplays() throws {
        defer { harness.drop() }
        try harness.link(project, connection: connection)
        harness.vercel.on("POST", "/v13/deployments", json: VercelJSON.deployment("dpl_1", state: "QUEUED"))
        harness.vercel.on(
            "POST", "/v1/deployments/dpl_1/checks",
            json: #"{"id":"chk_1","name":"Smoke checks","status":"registered","blocking":true,"deploymentId":"dpl_1"}"#)
        let body: [String: Any] = [
            "deploymentType": "preview", "gitSource": ["branch": "feature"], "idempotencyKey": "k-1",
        ]
        let first = try harness.call("POST", "\(base)/deploy", as: user, json: body)
        #expect(first.status == 202)
        #expect((first.json["deployment"] as? [String: Any])?["id"] as? String == "dpl_1")
        #expect(first.json["idempotentReplay"] as? Bool == false)
        #expect(first.statements <= 9, "a deploy with an idempotency key took \(first.statements) round trips")
        // Its blocking check was registered while it builds.
        #expect(harness.vercel.sent.contains("POST /v1/deployments/dpl_1/checks"))
        let check = try harness.db.query(
            "SELECT status::text AS status, vercel_check_id FROM vercel_deployment_checks WHERE deployment_id = 'dpl_1'"
        )
        #expect(check.first?["status"] == "registered" && check.first?["vercel_check_id"] == "chk_1")
        // The rows the request wrote carry its id, with no argument passing it down.
        let stored = try harness.db.query(
            "SELECT correlation_id FROM vercel_deployments WHERE project_id = \(project)")
        #expect(stored.map { $0["correlation_id"] } == [first.requestID])
        let again = try harness.call("POST", "\(base)/deploy", as: user, json: body)
        #expect(again.status == 202 && again.json["idempotentReplay"] as? Bool == true)
        #expect(harness.vercel.sent.filter { $0 == "POST /v13/deployments" }.count == 1)
        var changed = body
        changed["deploymentType"] = "production"
        #expect(try harness.call("POST", "\(base)/deploy", as: user, json: changed).code == "IDEMPOTENCY_KEY_REUSED")
    }

    @Test func productionFromAnotherBranchIsBlocked() throws {
        defer { harness.drop() }
        try harness.link(project, connection: connection)
        let answer = try harness.call(
            "POST", "\(base)/deploy", as: user,
            json: ["deploymentType": "production", "gitSource": ["branch": "feature"]])
        #expect(
            answer.status == 403 && answer.code == "DEPLOYMENT_BLOCKED" && answer.json["canOverride"] as? Bool == true)
        // The branch was read from Vercel when the project was linked: within its time to live the
        // stored one stands, and nothing deploys.
        #expect(harness.vercel.sent.isEmpty, "\(harness.vercel.sent)")
        // Once the stored branch is older than that, it is asked of Vercel again (unscripted
        // here: the stored one stands).
        try harness.db.execute(
            """
            UPDATE vercel_project_mappings SET production_branch_checked_at = now() - interval '1 day'
            WHERE project_id = \(project)
            """)
        let stale = try harness.call(
            "POST", "\(base)/deploy", as: user,
            json: ["deploymentType": "production", "gitSource": ["branch": "feature"]])
        #expect(stale.code == "DEPLOYMENT_BLOCKED")
        #expect(harness.vercel.sent == ["GET /v9/projects/prj_1"])
    }

    @Test func aRefusedDeployWithAnIdempotencyKeyLeavesNoAttemptAndNamesNothing() throws {
        defer { harness.drop() }
        try harness.link(project, connection: connection)
        let body: [String: Any] = [
            "deploymentType": "production", "gitSource": ["branch": "feature"], "idempotencyKey": "refused-1",
        ]
        #expect(try harness.call("POST", "\(base)/deploy", as: user, json: body).code == "DEPLOYMENT_BLOCKED")
        // The attempt begun under the key ended with the refusal, and the key names nothing: asked
        // again, it is refused again rather than replayed.
        #expect(try harness.db.query("SELECT count(*) AS n FROM vercel_deploy_attempts")[0]["n"] == "0")
        #expect(try harness.call("POST", "\(base)/deploy", as: user, json: body).code == "DEPLOYMENT_BLOCKED")
        #expect(!harness.vercel.sent.contains("POST /v13/deployments"))
    }

    @Test func anOverrideTokenIsIssuedOnceAndOnlyItsHashKept() throws {
        defer { harness.drop() }
        try harness.link(project, connection: connection)
        let answer = try harness.call(
            "POST", "\(base)/deployment-override", as: user, json: ["reason": "hotfix", "maxUses": 2])
        #expect(answer.status == 201)
        let token = try #require(answer.json["overrideToken"] as? String)
        #expect(token.hasPrefix("ovr_"))
        let stored = try harness.db.query("SELECT token_hash, max_uses FROM vercel_override_tokens")[0]
        #expect(stored["token_hash"] != token && stored["max_uses"] == "2")
        #expect(
            try harness.call("POST", "\(base)/deployment-override", as: user, json: ["reason": " "]).code
                == "INVALID_REASON")
    }

    @Test func theListPagesNewestFirstWithStats() throws {
        defer { harness.drop() }
        try harness.link(project, connection: connection)
        for index in 0..<3 { try storedDeployment("dpl_\(index)", state: index == 0 ? "ERROR" : "READY") }
        let first = try harness.call("GET", "\(base)/deployments?limit=2", as: user)
        #expect(first.status == 200)
        #expect((first.json["deployments"] as? [[String: Any]])?.count == 2)
        #expect((first.json["stats"] as? [String: Any])?["total"] as? Int == 3)
        let next = try #require((first.json["pagination"] as? [String: Any])?["next"] as? String)
        let second = try harness.call("GET", "\(base)/deployments?limit=2&cursor=\(next)", as: user)
        #expect((second.json["deployments"] as? [[String: Any]])?.count == 1)
        #expect(try harness.call("GET", "\(base)/deployments?state=DONE", as: user).code == "INVALID_STATE")
    }

    @Test func aDeploymentInProgressIsAskedOfVercelAgain() throws {
        defer { harness.drop() }
        try harness.link(project, connection: connection)
        try storedDeployment("dpl_live", state: "BUILDING")
        try storedDeployment("dpl_done", state: "READY")
        harness.vercel.on(
            "GET", "/v13/deployments/dpl_live",
            json: VercelJSON.deployment("dpl_live", state: "READY", ready: 1_790_000_060_000))
        let live = try harness.call("GET", "\(base)/deployments/dpl_live", as: user)
        #expect(
            (live.json["deployment"] as? [String: Any])?["state"] as? String == "READY"
                && live.json["stale"] as? Bool == false)
        _ = try harness.call("GET", "\(base)/deployments/dpl_done", as: user)
        #expect(harness.vercel.sent == ["GET /v13/deployments/dpl_live"])
        #expect(try harness.call("GET", "\(base)/deployments/dpl_none", as: user).code == "DEPLOYMENT_NOT_FOUND")
    }

    /// The logs route is nginx's authorization of a reader: it answers 204 and starts the
    /// deployment's one pump, which reads Vercel's events once and publishes each, then the end.
    @Test func buildLogsAuthorizeReadersAndPumpTheEventsOnce() throws {
        defer { harness.drop() }
        try harness.link(project, connection: connection)
        try storedDeployment("dpl_logs", state: "BUILDING")
        harness.vercel.on("GET", "/v3/deployments/dpl_logs/events") { _ in
            HTTPResponse(
                status: 200,
                body: Array(
                    """
                    {"created":1,"date":1,"deploymentId":"dpl_logs","id":"e1","serial":"1","text":"installing","type":"stdout","info":{"type":"build","name":"bld_1"}}
                    {}
                    null
                    {"created":2,"date":2,"deploymentId":"dpl_logs","id":"e2","serial":"2","type":"deployment-state","info":{"type":"build","name":"bld_1","readyState":"READY"}}

                    """.utf8))
        }
        harness.vercel.on("POST", "/_logs/publish/dpl_logs", status: 201, json: "{}")
        let answer = try harness.call("GET", "\(base)/deployments/dpl_logs/logs", as: user)
        #expect(answer.status == 204, "\(answer.text)")
        let deadline = Date().addingTimeInterval(5)
        while harness.vercel.sent.filter({ $0 == "POST /_logs/publish/dpl_logs" }).count < 3, Date() < deadline {
            usleep(20_000)
        }
        // stdout, the READY state, then the end.
        #expect(
            harness.vercel.sent.filter { $0 == "POST /_logs/publish/dpl_logs" }.count == 3, "\(harness.vercel.sent)")
        // A second reader is let in without a second pump.
        #expect(try harness.call("GET", "\(base)/deployments/dpl_logs/logs", as: user).status == 204)
        usleep(200_000)
        #expect(harness.vercel.sent.filter { $0 == "GET /v3/deployments/dpl_logs/events" }.count == 1)
        #expect(try harness.call("GET", "\(base)/deployments/dpl_none/logs", as: user).code == "DEPLOYMENT_NOT_FOUND")
        // The reader's own request (nginx's location is its path) is sent on to the channel; one
        // through an authorization subrequest (the previous release's routing table) is not.
        let direct = try harness.call(
            "GET", "\(base)/deployments/dpl_logs/logs", as: user, documentURI: "\(base)/deployments/dpl_logs/logs")
        #expect(direct.status == 204 && direct.header("X-Accel-Redirect") == "/_logs/subscribe/dpl_logs")
        let subrequest = try harness.call(
            "GET", "\(base)/deployments/dpl_logs/logs", as: user, documentURI: "/_logs/authorize")
        #expect(subrequest.status == 204 && subrequest.header("X-Accel-Redirect") == nil)
        #expect(answer.header("X-Accel-Redirect") == nil)
    }

    /// A stream that stops before the build ends (no final state in it): the deployment is read,
    /// and while it still builds the stream is followed again, each event published once.
    @Test func aStreamThatStopsBeforeTheBuildEndsIsFollowedAgainWithoutRepeats() throws {
        defer { harness.drop() }
        try harness.link(project, connection: connection)
        try storedDeployment("dpl_cut", state: "BUILDING")
        let streams = Mutex(0)
        let first =
            #"{"created":1,"date":1,"deploymentId":"dpl_cut","id":"e1","serial":"1","text":"one","type":"stdout","info":{"type":"build","name":"b"}}"#
        let last =
            #"{"created":2,"date":2,"deploymentId":"dpl_cut","id":"e2","serial":"2","type":"deployment-state","info":{"type":"build","name":"b","readyState":"ERROR"}}"#
        harness.vercel.on("GET", "/v3/deployments/dpl_cut/events") { _ in
            let count = streams.withLock {
                $0 += 1
                return $0
            }
            let lines = count == 1 ? [first] : [first, last]
            return HTTPResponse(status: 200, body: Array((lines.joined(separator: "\n") + "\n").utf8))
        }
        harness.vercel.on("GET", "/v13/deployments/dpl_cut", json: VercelJSON.deployment("dpl_cut", state: "BUILDING"))
        harness.vercel.on("POST", "/_logs/publish/dpl_cut", status: 201, json: "{}")
        #expect(try harness.call("GET", "\(base)/deployments/dpl_cut/logs", as: user).status == 204)
        let deadline = Date().addingTimeInterval(5)
        while harness.vercel.sent.filter({ $0 == "POST /_logs/publish/dpl_cut" }).count < 3, Date() < deadline {
            usleep(20_000)
        }
        usleep(100_000)
        let published = harness.vercel.sent.filter { $0 == "POST /_logs/publish/dpl_cut" }.count
        #expect(published == 3, "one, the ERROR state, the end: \(harness.vercel.sent)")
        #expect(streams.withLock { $0 } == 2)
    }

    @Test func promotionMovesProductionAndRecordsTheMove() throws {
        defer { harness.drop() }
        try harness.link(project, connection: connection)
        try storedDeployment("dpl_new", state: "READY")
        harness.vercel.on("GET", "/v13/deployments/dpl_new", json: VercelJSON.deployment("dpl_new", state: "READY"))
        harness.vercel.on("POST", "/v10/projects/prj_1/promote/dpl_new", status: 202, json: "{}")
        harness.vercel.on(
            "GET", "/v9/projects/prj_1",
            json: """
                {"id":"prj_1","name":"site","targets":{"production":{"id":"dpl_new","url":"dpl_new.vercel.app","alias":["site.com"]}},
                 "lastAliasRequest":{"fromDeploymentId":"dpl_old","toDeploymentId":"dpl_new","jobStatus":"succeeded","type":"promote"}}
                """)
        let answer = try harness.call("POST", "\(base)/deployments/dpl_new/promote", as: user)
        #expect(answer.status == 200 && answer.json["productionUrl"] as? String == "https://dpl_new.vercel.app")
        let history = try harness.db.query(
            "SELECT deployment_id, previous_deployment_id FROM vercel_production_history")
        #expect(history.count == 1 && history[0]["previous_deployment_id"] == "dpl_old")
    }

    @Test func rollbackGoesToANamedProductionDeployment() throws {
        defer { harness.drop() }
        try harness.link(project, connection: connection)
        try storedDeployment("dpl_prev", state: "READY", type: "PRODUCTION")
        try storedDeployment("dpl_preview", state: "READY")
        harness.vercel.on(
            "GET", "/v13/deployments/dpl_prev",
            json: VercelJSON.deployment("dpl_prev", state: "READY", target: "production"))
        harness.vercel.on("POST", "/v1/projects/prj_1/rollback/dpl_prev", status: 201, json: "{}")
        harness.vercel.on(
            "GET", "/v9/projects/prj_1",
            json: """
                {"id":"prj_1","name":"site","targets":{"production":{"id":"dpl_prev","url":"dpl_prev.vercel.app","alias":[]}},
                 "lastAliasRequest":{"fromDeploymentId":"dpl_cur","toDeploymentId":"dpl_prev","jobStatus":"succeeded","type":"rollback"}}
                """)
        let answer = try harness.call("POST", "\(base)/rollback", as: user, json: ["deploymentId": "dpl_prev"])
        #expect(
            answer.status == 200 && answer.json["rolledBack"] as? Bool == true
                && answer.json["deploymentId"] as? String == "dpl_prev")
        let refused = try harness.call("POST", "\(base)/rollback", as: user, json: ["deploymentId": "dpl_preview"])
        #expect(refused.code == "NOT_A_PRODUCTION_DEPLOYMENT")
    }

    @Test func cancelAsksVercelOnlyWhileTheLifecycleAllows() throws {
        defer { harness.drop() }
        try harness.link(project, connection: connection)
        try storedDeployment("dpl_run", state: "BUILDING")
        try storedDeployment("dpl_err", state: "ERROR")
        harness.vercel.on(
            "PATCH", "/v12/deployments/dpl_run/cancel", json: VercelJSON.deployment("dpl_run", state: "CANCELED"))
        let canceled = try harness.call("DELETE", "\(base)/deployments/dpl_run", as: user)
        #expect(canceled.status == 200 && canceled.json["canceled"] as? Bool == true)
        let refused = try harness.call("DELETE", "\(base)/deployments/dpl_err", as: user)
        #expect(refused.status == 409 && refused.code == "DEPLOYMENT_NOT_CANCELABLE")
        #expect(harness.vercel.sent == ["PATCH /v12/deployments/dpl_run/cancel"])
    }

    @Test func anotherUsersProjectIsNotFoundOnEveryRoute() throws {
        defer { harness.drop() }
        let stranger = try harness.user()
        _ = try harness.connect(stranger)
        for (method, path) in [
            ("GET", "\(base)/projects"), ("POST", "\(base)/deploy"), ("GET", "\(base)/deployments"),
            ("POST", "\(base)/projects/unlink"), ("POST", "\(base)/deployment-override"),
        ] {
            #expect(try harness.call(method, path, as: stranger).code == "PROJECT_NOT_FOUND", "\(method) \(path)")
        }
        #expect(harness.vercel.sent.isEmpty)
    }

    @Test func autoDeployRoutesAnswerAfterTheirChecks() throws {
        defer { harness.drop() }
        #expect(harness.send("GET", "\(base)/auto-deploy/config").code == "MISSING_SIGNATURE")
        #expect(try harness.call("GET", "\(base)/auto-deploy/config", as: user).code == "PROJECT_NOT_LINKED")
        try harness.link(project, connection: connection)
        let config = try harness.call("GET", "\(base)/auto-deploy/config", as: user)
        #expect(config.status == 200, "\(config.text)")
        let settings = try #require(config.json["config"] as? [String: Any])
        #expect(settings["enabled"] as? Bool == true && settings["targetEnvironment"] as? String == "auto")
        #expect(harness.vercel.sent.isEmpty, "the settings are read from the database alone")
    }

    /// Scopes unknown (an integration installation that does not say): the call is made, and
    /// Vercel's own 403 is the route's INSUFFICIENT_SCOPE with the permission it needs.
    @Test func vercelsForbiddenIsInsufficientScopeWithThePermissionTheRouteNeeds() throws {
        defer { harness.drop() }
        harness.vercel.on(
            "GET", "/v10/projects", status: 403, json: #"{"error":{"code":"forbidden","message":"Not allowed"}}"#)
        let answer = try harness.call("GET", "\(base)/projects", as: user)
        #expect(answer.status == 403 && answer.code == "INSUFFICIENT_SCOPE")
        #expect(
            answer.json["requiredScope"] as? String == "read:project" && answer.json["action"] as? String == "RECONNECT"
        )
        let limited = try harness.user()
        _ = try harness.connect(limited, scopes: ["read:user"])
        let known = try harness.call(
            "GET", "/v1/projects/\(try harness.project(of: limited))/vercel/projects", as: limited)
        #expect(known.code == "INSUFFICIENT_SCOPE" && known.json["requiredScope"] as? String == "read:project")
        #expect(
            harness.vercel.sent == ["GET /v10/projects"], "a connection known to lack the scope is not sent to Vercel")
    }

    @Test func linkSettingsChangeHereAndBuildSettingsAtVercel() throws {
        defer { harness.drop() }
        try harness.link(project, connection: connection)
        let local = try harness.call(
            "PATCH", "\(base)/projects/link", as: user,
            json: ["autoDeployEnabled": false, "deploymentBranchPatterns": ["release/*"]])
        #expect(local.status == 200 && harness.vercel.sent.isEmpty)
        #expect((local.json["mapping"] as? [String: Any])?["autoDeployEnabled"] as? Bool == false)
        harness.vercel.on("PATCH", "/v9/projects/prj_1") { request in
            let sent = String(decoding: request.body, as: UTF8.self)
            let node = sent.contains(#""nodeVersion":"22.x""#) ? "22.x" : "20.x"
            return HTTPResponse(
                status: 200,
                body: Array(#"{"id":"prj_1","name":"site","nodeVersion":"\#(node)","framework":"nextjs"}"#.utf8))
        }
        let build = try harness.call("PATCH", "\(base)/projects/link", as: user, json: ["nodeVersion": "22.x"])
        #expect(build.status == 200 && (build.json["mapping"] as? [String: Any])?["nodeVersion"] as? String == "22.x")
        #expect(harness.vercel.sent == ["PATCH /v9/projects/prj_1"])
        #expect(
            try harness.call("PATCH", "\(base)/projects/link", as: user, json: ["nodeVersion": "8.x"]).code
                == "INVALID_BUILD_SETTING")
    }
}
