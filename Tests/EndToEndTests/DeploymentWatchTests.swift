import Foundation
import TestSupport
import Testing
import Vercel

/// Watching, promoting, rolling back and canceling deployments through nginx against the simulator,
/// and that none of it reaches another user's project.
@Suite struct DeploymentWatchTests {
    let client: StackClient
    let fixtures = StackFixtures()

    init() throws {
        client = try StackClient()
    }

    @Test func aDeploymentIsRefreshedFromVercelWhileItBuildsWhenNoWebhookCame() async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client, buildMs: 400, webhooks: false)
        let id = try await linked.deployPreview()
        #expect(try linked.storedState(id) == "QUEUED")
        #expect(try await linked.waitForState(id, "READY"))
        let deployment = try #require(try await linked.get(id))
        #expect(try linked.storedState(id) == "READY")
        #expect(deployment["readyAt"] is String && deployment["buildDurationMs"] as? Int == 400)
        #expect((deployment["aliasUrls"] as? [String])?.isEmpty == false && deployment["buildLogsUrl"] is String)
        let missing = try await client.signed("GET", "\(linked.base)/deployments/dpl_missing?userId=\(linked.user)")
        #expect(missing.status == 404 && missing.code == "DEPLOYMENT_NOT_FOUND")
    }

    @Test func theListPagesWithACursorFiltersAndCountsTheLast30Days() async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client, buildMs: 100)
        var ids: [String] = []
        for _ in 0..<5 { ids.append(try await linked.deployPreview()) }
        try await linked.connected.account.setFaults(["buildMs": 100, "failBuilds": 1])
        let failed = try await linked.deployPreview()
        for id in ids { #expect(try await linked.waitForStoredState(id, "READY") == "READY") }
        #expect(try await linked.waitForStoredState(failed, "ERROR") == "ERROR")

        var seen: [String] = []
        var cursor: String?
        repeat {
            let page = try await client.signed(
                "GET",
                "\(linked.base)/deployments?limit=2&userId=\(linked.user)" + (cursor.map { "&cursor=\($0)" } ?? ""))
            #expect(page.status == 200, "\(page.text)")
            seen += (page.json?["deployments"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            cursor = (page.json?["pagination"] as? [String: Any])?["next"] as? String
        } while cursor != nil
        #expect(seen == ([failed] + ids.reversed()))

        let errors = try await client.signed("GET", "\(linked.base)/deployments?state=ERROR&userId=\(linked.user)")
        #expect((errors.json?["deployments"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [failed])
        let failure = try #require((errors.json?["deployments"] as? [[String: Any]])?.first?["error"] as? [String: Any])
        #expect(failure["code"] as? String == "BUILD_FAILED" && failure["step"] as? String == "BUILD")
        let production = try await client.signed(
            "GET", "\(linked.base)/deployments?target=production&userId=\(linked.user)")
        #expect((production.json?["deployments"] as? [Any])?.isEmpty == true)
        let stats = try #require(errors.json?["stats"] as? [String: Any])
        #expect(
            stats["total"] as? Int == 6 && stats["ready"] as? Int == 5 && stats["error"] as? Int == 1
                && stats["periodDays"] as? Int == 30)
        #expect(stats["successRate"] as? Double == 0.833 && stats["medianBuildDurationMs"] as? Int == 100)

        let bad = try await client.signed("GET", "\(linked.base)/deployments?cursor=not-a-cursor&userId=\(linked.user)")
        #expect(bad.status == 400 && bad.code == "INVALID_CURSOR")
        let badState = try await client.signed("GET", "\(linked.base)/deployments?state=DONE&userId=\(linked.user)")
        #expect(badState.status == 400 && badState.code == "INVALID_STATE")
    }

    @Test func twentyConcurrentPromotionsSerialiseAndProductionIsTheLastOneThatSucceeded() async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client, buildMs: 50)
        var ids: [String] = []
        for _ in 0..<20 { ids.append(try await linked.deployPreview()) }
        for id in ids { #expect(try await linked.waitForState(id, "READY")) }
        let base = linked.base
        let body = #"{"userId":"\#(linked.user)"}"#
        let client = self.client
        let replies = try await withThrowingTaskGroup(of: (String, StackClient.Reply).self) { group in
            for id in ids {
                group.addTask { (id, try await client.signed("POST", "\(base)/deployments/\(id)/promote", json: body)) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let succeeded = replies.filter { $0.1.status == 200 }
        #expect(!succeeded.isEmpty)
        #expect(
            replies.allSatisfy { $0.1.status == 200 || ($0.1.status == 409 && $0.1.code == "PROMOTION_IN_PROGRESS") },
            "\(replies.map { $0.1.text })")
        let history = try fixtures.db.query(
            "SELECT deployment_id FROM vercel_production_history WHERE project_id = \(linked.project) ORDER BY id"
        ).map { try $0.decode("deployment_id", as: String.self) }
        #expect(Set(history) == Set(succeeded.map(\.0)) && history.count == succeeded.count)
        let production = try linked.connected.vercel.productionState(
            projectID: linked.vercelProject.id, linked.connected.credentials)
        #expect(production.targets?.production?.id == history.last)
        let last = try #require(succeeded.first { $0.0 == history.last }?.1)
        #expect(last.json?["productionUrl"] as? String == "https://" + (production.targets?.production?.url ?? "-"))
        #expect((last.json?["aliasUrls"] as? [String]) == production.targets?.production?.alias)
        #expect(try linked.auditActions().filter { $0 == "DEPLOYMENT_PROMOTED" }.count == succeeded.count)
    }

    @Test func promotionNeedsAReadyDeploymentAndTheGuardrailAndRollbackRestoresThePreviousProduction() async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client, buildMs: 50)
        let first = try await linked.deployPreview()
        let second = try await linked.deployPreview()
        let feature = try await linked.deployPreview(branch: "feature/x")
        for id in [first, second, feature] { #expect(try await linked.waitForState(id, "READY")) }
        let promote = { (id: String) in
            try await client.signed(
                "POST", "\(linked.base)/deployments/\(id)/promote", json: #"{"userId":"\#(linked.user)"}"#)
        }
        let firstUp = try await promote(first)
        #expect(firstUp.status == 200 && firstUp.json?["promoted"] as? Bool == true, "\(firstUp.text)")
        let secondUp = try await promote(second)
        #expect(secondUp.status == 200)
        let blocked = try await promote(feature)
        #expect(blocked.status == 403 && blocked.code == "DEPLOYMENT_BLOCKED")

        let firstURL = try #require(try await linked.get(first)?["url"] as? String)
        let rolledBack = try await client.signed(
            "POST", "\(linked.base)/rollback", json: #"{"userId":"\#(linked.user)"}"#)
        #expect(rolledBack.status == 200, "\(rolledBack.text)")
        #expect(
            rolledBack.json?["deploymentId"] as? String == first
                && rolledBack.json?["productionUrl"] as? String == firstURL)
        let production = try linked.connected.vercel.productionState(
            projectID: linked.vercelProject.id, linked.connected.credentials)
        #expect(production.targets?.production?.id == first)
        let aliases = try #require(rolledBack.json?["aliasUrls"] as? [String])
        #expect(!aliases.isEmpty)
        let firstAliases = Set(try await linked.get(first)?["aliasUrls"] as? [String] ?? [])
        let secondAliases = Set(try await linked.get(second)?["aliasUrls"] as? [String] ?? [])
        #expect(firstAliases.isSuperset(of: aliases) && secondAliases.isDisjoint(with: aliases))

        let named = try await client.signed(
            "POST", "\(linked.base)/rollback", json: #"{"userId":"\#(linked.user)","deploymentId":"\#(second)"}"#)
        #expect(named.status == 200 && named.json?["deploymentId"] as? String == second)
        let preview = try await client.signed(
            "POST", "\(linked.base)/rollback", json: #"{"userId":"\#(linked.user)","deploymentId":"\#(feature)"}"#)
        #expect(preview.status == 409 && preview.code == "NOT_A_PRODUCTION_DEPLOYMENT")

        try await linked.connected.account.setFaults(["buildMs": 5_000])
        let building = try await linked.deployPreview()
        let notReady = try await promote(building)
        #expect(notReady.status == 409 && notReady.code == "DEPLOYMENT_NOT_READY")
    }

    @Test func cancelStopsABuildAndIsRefusedForReadyAndErrorAsTheLifecycleSays() async throws {
        // A build that is still running when the cancel comes, however slowly the suite runs.
        let linked = try await LinkedProjectFixture.make(fixtures, client, buildMs: 60_000)
        let building = try await linked.deployPreview()
        let canceled = try await client.signed("DELETE", "\(linked.base)/deployments/\(building)?userId=\(linked.user)")
        #expect(canceled.status == 200 && canceled.json?["canceled"] as? Bool == true, "\(canceled.text)")
        #expect(try linked.storedState(building) == "CANCELED")
        #expect(try linked.connected.vercel.deployment(building, linked.connected.credentials).readyState == "CANCELED")

        try await linked.connected.account.setFaults(["buildMs": 50])
        let ready = try await linked.deployPreview()
        #expect(try await linked.waitForStoredState(ready, "READY") == "READY")
        let readyReply = try await client.signed("DELETE", "\(linked.base)/deployments/\(ready)?userId=\(linked.user)")
        #expect(
            readyReply.status == 409 && readyReply.code == "DEPLOYMENT_NOT_CANCELABLE"
                && readyReply.json?["state"] as? String == "READY")

        try await linked.connected.account.setFaults(["buildMs": 50, "failBuilds": 1])
        let failed = try await linked.deployPreview()
        #expect(try await linked.waitForStoredState(failed, "ERROR") == "ERROR")
        let cancels = try await linked.connected.account.requests()["PATCH /v12/deployments/:id/cancel"] ?? 0
        let errorReply = try await client.signed("DELETE", "\(linked.base)/deployments/\(failed)?userId=\(linked.user)")
        #expect(errorReply.status == 409 && errorReply.json?["state"] as? String == "ERROR")
        #expect(try await linked.connected.account.requests()["PATCH /v12/deployments/:id/cancel"] ?? 0 == cancels)
        #expect(try linked.storedState(failed) == "ERROR" && linked.storedState(ready) == "READY")
    }

    @Test func anotherUserCannotSeeOrTouchAProjectOnAnyRoute() async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client, buildMs: 50)
        let id = try await linked.deployPreview()
        let stranger = try await VercelConnectionFixture.connect(fixtures, client)
        let base = linked.base
        let routes: [(String, String, String?)] = [
            ("GET", "\(base)/projects?userId=\(stranger.user)", nil),
            ("GET", "\(base)/projects/\(linked.vercelProject.id)?userId=\(stranger.user)", nil),
            ("POST", "\(base)/projects/link", #"{"userId":"\#(stranger.user)","vercelProjectId":"x"}"#),
            ("POST", "\(base)/projects/unlink", #"{"userId":"\#(stranger.user)"}"#),
            ("POST", "\(base)/deploy", #"{"userId":"\#(stranger.user)","deploymentType":"preview"}"#),
            ("GET", "\(base)/deployments?userId=\(stranger.user)", nil),
            ("GET", "\(base)/deployments/\(id)?userId=\(stranger.user)", nil),
            ("GET", "\(base)/deployments/\(id)/logs?userId=\(stranger.user)", nil),
            ("POST", "\(base)/deployments/\(id)/promote", #"{"userId":"\#(stranger.user)"}"#),
            ("DELETE", "\(base)/deployments/\(id)?userId=\(stranger.user)", nil),
            ("POST", "\(base)/rollback", #"{"userId":"\#(stranger.user)"}"#),
            ("POST", "\(base)/deployment-override", #"{"userId":"\#(stranger.user)","reason":"mine now"}"#),
        ]
        for (method, path, body) in routes {
            // Build logs are read as an event stream (nginx serves them through Nchan).
            let accept = path.contains("/logs?") ? ["Accept": "text/event-stream"] : [:]
            let reply = try await client.signed(method, path, json: body, headers: accept)
            #expect(
                reply.status == 404 && reply.code == "PROJECT_NOT_FOUND",
                "\(method) \(path): \(reply.status) \(reply.text)")
        }
        // A deployment of one project is not reachable through another project of the same user.
        let otherProject = try await LinkedProjectFixture.make(fixtures, client)
        let crossed = try await client.signed(
            "GET", "/v1/projects/\(otherProject.project)/vercel/deployments/\(id)?userId=\(otherProject.user)")
        #expect(crossed.status == 404 && crossed.code == "DEPLOYMENT_NOT_FOUND")
        #expect(try linked.storedState(id) != nil)
    }

    @Test func everyRouteThatCallsVercelNeedsItsDeploymentScope() async throws {
        // A build long enough to still be queued at the end however slowly the suite runs.
        let linked = try await LinkedProjectFixture.make(fixtures, client, buildMs: 120_000)
        let id = try await linked.deployPreview()
        try fixtures.db.execute(
            "UPDATE vercel_connections SET granted_scopes = '{read:user,read:project}' WHERE user_id = \(linked.user)")
        let body = #"{"userId":"\#(linked.user)"}"#
        let routes: [(String, String, String?, String)] = [
            (
                "POST", "\(linked.base)/deploy",
                #"{"userId":"\#(linked.user)","deploymentType":"preview","gitSource":{"branch":"main"}}"#,
                "read-write:deployment"
            ),
            ("GET", "\(linked.base)/deployments/\(id)?userId=\(linked.user)", nil, "read:deployment"),
            ("GET", "\(linked.base)/deployments/\(id)/logs?userId=\(linked.user)", nil, "read:deployment"),
            ("POST", "\(linked.base)/deployments/\(id)/promote", body, "read-write:deployment"),
            ("DELETE", "\(linked.base)/deployments/\(id)?userId=\(linked.user)", nil, "read-write:deployment"),
            ("POST", "\(linked.base)/rollback", body, "read-write:deployment"),
        ]
        for (method, path, json, scope) in routes {
            let accept = path.contains("/logs?") ? ["Accept": "text/event-stream"] : [:]
            let reply = try await client.signed(method, path, json: json, headers: accept)
            #expect(
                reply.status == 403 && reply.code == "INSUFFICIENT_SCOPE"
                    && reply.json?["requiredScope"] as? String == scope, "\(method) \(path)")
            #expect(reply.json?["action"] as? String == "RECONNECT")
        }
        // What this service already knows needs no Vercel scope.
        #expect(try await client.signed("GET", "\(linked.base)/deployments?userId=\(linked.user)").status == 200)
        #expect(try linked.storedState(id) == "QUEUED")
    }
}
