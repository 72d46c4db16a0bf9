import Crypto
import Foundation
import Kernel
import TestSupport
import Testing
import Vercel

/// Every flow through nginx against the simulator, with each of Vercel's answer shapes switched
/// on in turn (`/_sim/shapes`): build logs from flat, wrapped and null-strewn events; env lists and
/// syncs with string targets, custom environments, missing ids and creates that do not say what
/// they made; cursor-origin links; scopes in Vercel's words; STAGED production deployments.
@Suite struct VercelShapesEndToEndTests {
    let client: StackClient
    let fixtures = StackFixtures()

    init() throws {
        client = try StackClient()
    }

    var port: UInt16 { UInt16(client.baseURL.split(separator: ":").last!)! }

    static func shapes(_ account: SimulatorAccount, _ variants: [String], scopes: [String]? = nil) async throws {
        var body: [String: Any] = ["variants": variants]
        if let scopes { body["scopes"] = scopes }
        _ = try await account.admin("PUT", "/_sim/shapes", body)
    }

    func json(_ fields: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: fields), as: UTF8.self)
    }

    // MARK: Build logs

    @Test(arguments: [[], ["wrappedEvents"], ["nullEvents"]])
    func aDeploysBuildLogReachesEveryReaderInOrderAndEndsAtItsFinalState(variants: [String]) async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client, buildMs: 2_000, webhooks: false)
        try await Self.shapes(linked.connected.account, variants)
        let id = try await linked.deployPreview()
        let path = "\(linked.base)/deployments/\(id)/logs?userId=\(linked.user)"
        let port = self.port
        // Two readers, each with a request of its own (a signature's nonce is good once).
        let readers = (0..<2).map { _ in
            var headers = client.signatureHeaders("GET", path)
            headers["Accept"] = "text/event-stream"
            return headers
        }.map { headers in
            Task.detached {
                BuildLogStreamTests.events(
                    try RawHTTP.get(port: port, path: path, headers: headers, timeout: 30, until: "event: end").map(
                        \.text
                    ).joined())
            }
        }
        var seen: [[BuildLogStreamTests.Event]] = []
        for reader in readers { seen.append(try await reader.value) }
        let expected =
            ["deployment-state", "command", "stdout", "stdout", "stdout"]
            + (variants.contains("wrappedEvents") ? [] : ["alias-assigned"]) + ["deployment-state", "end"]
        for events in seen {
            #expect(events.map(\.type) == expected, "\(variants): \(events.map(\.type))")
            #expect(events.last?.data == #"{"state":"READY"}"#, "\(variants)")
            #expect(!events.contains { $0.data == "{}" || $0.data == "null" }, "a keepalive or null reached a reader")
            // In Vercel's order: each event's serial is after the one before.
            let serials = events.dropLast().compactMap { event -> String? in
                guard let data = event.data.data(using: .utf8),
                    let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
                else { return nil }
                return object["serial"] as? String
            }
            #expect(serials.count == expected.count - 1 && serials == serials.sorted(), "\(serials)")
        }
        #expect(seen[0] == seen[1], "both readers got the same events")
    }

    @Test func aFailedBuildsErrorLineReachesTheReaderWithItsLevelAndTheLogEndsAtError() async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client, buildMs: 1_000, webhooks: false)
        try await linked.connected.account.setFaults(["buildMs": 1_000, "failBuilds": 1])
        let id = try await linked.deployPreview()
        let path = "\(linked.base)/deployments/\(id)/logs?userId=\(linked.user)"
        var headers = client.signatureHeaders("GET", path)
        headers["Accept"] = "text/event-stream"
        let events = BuildLogStreamTests.events(
            try RawHTTP.get(port: port, path: path, headers: headers, timeout: 30, until: "event: end").map(\.text)
                .joined())
        #expect(events.suffix(4).map(\.type) == ["stderr", "exit", "deployment-state", "end"], "\(events)")
        let stderr = try #require(events.first { $0.type == "stderr" })
        #expect(stderr.data.contains(#""level":"error""#) && stderr.data.contains(#""step":"build""#), "\(stderr.data)")
        #expect(events.last?.data == #"{"state":"ERROR"}"#)
    }

    // MARK: Env variables

    func setEnv(
        _ linked: LinkedProjectFixture, _ key: String, _ value: String, type: String = "encrypted"
    )
        async throws -> StackClient.Reply
    {
        try await client.signed(
            "PUT", "\(linked.base)/env/\(key)",
            json: try json(["userId": linked.user.uuidString, "value": value, "target": ["preview"], "type": type]))
    }

    func syncEnv(_ linked: LinkedProjectFixture) async throws -> StackClient.Reply {
        try await client.signed(
            "POST", "\(linked.base)/env/sync",
            json: try json(["userId": linked.user.uuidString, "direction": "to_vercel", "target": "preview"]))
    }

    @Test func theEnvListAndASyncWorkWithAStringTargetACustomEnvironmentAndAMissingID() async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client, webhooks: false)
        try await Self.shapes(
            linked.connected.account, ["envStringTarget", "envCustomEnvironment", "envMissingIds", "envCreatedObject"])
        let plain = try await setEnv(linked, "PUBLIC_URL", "https://shop.example.com", type: "plain")
        #expect(
            plain.status == 200 && (plain.json?["vercel"] as? [String: Any])?["status"] as? String == "applied",
            "\(plain.text)")
        let secret = try await setEnv(linked, "API_TOKEN", "tok-\(UUID().uuidString)")
        #expect((secret.json?["vercel"] as? [String: Any])?["status"] as? String == "applied", "\(secret.text)")

        let listed = try await client.signed("GET", "\(linked.base)/env?userId=\(linked.user)")
        #expect(listed.status == 200, "\(listed.text)")
        let rows = try #require(listed.json?["variables"] as? [[String: Any]])
        let byKey = Dictionary(uniqueKeysWithValues: rows.map { ($0["key"] as? String ?? "", $0) })
        #expect(
            byKey["PUBLIC_URL"]?["status"] as? String == "in_sync" && byKey["PUBLIC_URL"]?["owned"] as? Bool == true)
        #expect(byKey["API_TOKEN"]?["status"] as? String == "in_sync")
        #expect(byKey["STAGING_ONLY_URL"] == nil, "a custom environment's variable is no target's")

        // A second write of the id-less variable is still this service's.
        let again = try await setEnv(linked, "PUBLIC_URL", "https://shop2.example.com", type: "plain")
        #expect((again.json?["vercel"] as? [String: Any])?["status"] as? String == "applied", "\(again.text)")
        let synced = try await syncEnv(linked)
        #expect(synced.status == 200 && synced.json?["applied"] as? Bool == true, "\(synced.text)")
        let atVercel = try linked.connected.vercel.envVariables(
            projectID: linked.vercelProject.id, linked.connected.credentials)
        #expect(atVercel.contains { $0.key == "STAGING_ONLY_URL" && !$0.customEnvironmentIds.isEmpty })
        #expect(atVercel.first { $0.key == "PUBLIC_URL" }?.id == nil)
        #expect(atVercel.first { $0.key == "PUBLIC_URL" }?.value == "https://shop2.example.com")
    }

    @Test func aCreateThatDoesNotSayWhatItMadeIsReadBackAndStaysOurs() async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client, webhooks: false)
        try await Self.shapes(linked.connected.account, ["envCreatedAbsent"])
        let first = try await setEnv(linked, "DATABASE_URL", "postgres://db-\(UUID().uuidString)")
        #expect((first.json?["vercel"] as? [String: Any])?["status"] as? String == "applied", "\(first.text)")
        let second = try await setEnv(linked, "DATABASE_URL", "postgres://db2-\(UUID().uuidString)")
        #expect(
            (second.json?["vercel"] as? [String: Any])?["status"] as? String == "applied",
            "the variable written without an answer is still owned: \(second.text)")
        _ = try await client.signed(
            "PUT", "\(linked.base)/env/CACHE_URL",
            json: try json([
                "userId": linked.user.uuidString, "value": "redis://cache", "target": ["preview"], "localOnly": true,
            ]))
        let synced = try await syncEnv(linked)
        let changes = try #require(synced.json?["changes"] as? [[String: Any]], "\(synced.text)")
        #expect(
            changes.first { $0["key"] as? String == "CACHE_URL" }?["result"] as? String == "applied", "\(synced.text)")
        #expect(
            try linked.connected.vercel.envVariables(projectID: linked.vercelProject.id, linked.connected.credentials)
                .map(\.key).sorted() == ["CACHE_URL", "DATABASE_URL"])
    }

    @Test func anUnreadableItemIsSkippedCountedOnMetricsAndFailsNoList() async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client, webhooks: false)
        try await Self.shapes(linked.connected.account, ["unreadableItem"])
        #expect((try await setEnv(linked, "KEPT", "value")).status == 200)
        let listed = try await client.signed("GET", "\(linked.base)/env?userId=\(linked.user)")
        let keys = (listed.json?["variables"] as? [[String: Any]])?.compactMap { $0["key"] as? String }
        #expect(listed.status == 200 && keys == ["KEPT"], "\(listed.text)")
        let projects = try await client.signed(
            "GET", "/v1/projects/\(linked.project)/vercel/projects?userId=\(linked.user)")
        let ids = (projects.json?["projects"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
        #expect(projects.status == 200 && ids.contains(linked.vercelProject.id) && !ids.contains("prj_unreadable"))
        for (group, kind) in [("env", "env_variable"), ("deployments", "project")] {
            let url = try TestEnvironment.require("TEST_METRICS_URL") + "/metrics/\(group)"
            let text = String(
                decoding: try CurlTransport().send(HTTPRequest(method: "GET", url: url)).body, as: UTF8.self)
            let line = text.split(separator: "\n").first {
                $0.hasPrefix("sheen_vercel_items_skipped_total{") && $0.contains("kind=\"\(kind)\"")
            }
            let count = line.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
            #expect(count >= 1, "\(group): \(line ?? "no sheen_vercel_items_skipped_total for \(kind)")")
        }
    }

    // MARK: Project links

    @Test func aCursorOriginProjectIsListedAndLinks() async throws {
        let connected = try await VercelConnectionFixture.connect(fixtures, client)
        try await Self.shapes(connected.account, ["cursorOriginLinks"])
        let vercelProject = try connected.vercel.createProject(
            VercelProjectSettings(
                name: "cursor-\(UUID().uuidString.prefix(8).lowercased())",
                gitRepository: .init(type: "github", repo: "acme/agent")),
            connected.credentials)
        #expect(vercelProject.link?.type == "cursor-origin" && vercelProject.link?.repoId?.hasPrefix("cur_") == true)
        let project = try fixtures.project(owner: connected.user)
        let listed = try await client.signed("GET", "/v1/projects/\(project)/vercel/projects?userId=\(connected.user)")
        #expect(listed.status == 200, "\(listed.text)")
        let ids = (listed.json?["projects"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
        #expect(ids.contains(vercelProject.id), "\(listed.text)")
        let linked = try await client.signed(
            "POST", "/v1/projects/\(project)/vercel/projects/link",
            json: #"{"userId":"\#(connected.user)","vercelProjectId":"\#(vercelProject.id)"}"#)
        #expect(linked.status == 200, "\(linked.text)")
        let stored = try fixtures.db.query(
            "SELECT git_repository->>'repoId' AS repo_id FROM vercel_project_mappings WHERE project_id = \(project)")
        #expect(stored.first?["repo_id"] == vercelProject.link?.repoId, "\(stored.first?["repo_id"] ?? "none")")
    }

    // MARK: Scopes

    @Test func scopesInVercelsWordsAllowWhatTheyGrantRefuseWhatTheyDoNotAndAnUpgradeGrantsIt() async throws {
        let account = try await SimulatorAccount.create()
        try await Self.shapes(
            account, [],
            scopes: [
                "read:user", "read:team", "read-write:project", "read-write:deployment", "read-write:project-env-vars",
                "read:domain",
            ])
        let user = try fixtures.user()
        let connected = try await VercelConnectionFixture.connect(user, to: account, client)
        try await account.setFaults(["buildMs": 300])
        let status = try await client.signed("GET", "/v1/internal/vercel/oauth/status?userId=\(user)")
        let scopes = (status.json?["connection"] as? [String: Any])?["scopes"] as? [String]
        #expect(scopes?.contains("read-write:project-env-vars") == true, "\(status.text)")

        let vercelProject = try connected.vercel.createProject(
            VercelProjectSettings(
                name: "scoped-\(UUID().uuidString.prefix(8).lowercased())",
                gitRepository: .init(type: "github", repo: "acme/scoped")),
            connected.credentials)
        let project = try fixtures.project(owner: user)
        let base = "/v1/projects/\(project)/vercel"
        let link = try await client.signed(
            "POST", "\(base)/projects/link", json: #"{"userId":"\#(user)","vercelProjectId":"\#(vercelProject.id)"}"#)
        #expect(link.status == 200, "\(link.text)")
        let body = #"{"userId":"\#(user)"}"#
        let deployed = try await client.signed(
            "POST", "\(base)/deploy",
            json: #"{"userId":"\#(user)","deploymentType":"preview","gitSource":{"branch":"main"}}"#)
        let deployment = try #require(
            (deployed.json?["deployment"] as? [String: Any])?["id"] as? String, "\(deployed.text)")
        let allowed: [(String, String, String?)] = [
            ("GET", "\(base)/projects?userId=\(user)", nil),
            ("GET", "\(base)/projects/\(vercelProject.id)?userId=\(user)", nil),
            ("PATCH", "\(base)/projects/link", #"{"userId":"\#(user)","autoDeployEnabled":false}"#),
            ("GET", "\(base)/deployments/\(deployment)?userId=\(user)", nil),
            ("GET", "\(base)/env?userId=\(user)", nil),
            (
                "POST", "\(base)/env/sync",
                #"{"userId":"\#(user)","direction":"to_vercel","target":"preview","dryRun":true}"#
            ),
            ("PUT", "\(base)/env/SCOPED_KEY", #"{"userId":"\#(user)","value":"v","target":["preview"]}"#),
            ("GET", "\(base)/domains?userId=\(user)", nil),
            ("POST", "/v1/internal/vercel/oauth/test-connection", body),
        ]
        for (method, path, json) in allowed {
            let reply = try await client.signed(method, path, json: json)
            #expect((200..<300).contains(reply.status), "\(method) \(path): \(reply.status) \(reply.text)")
        }
        let health = try await client.signed("POST", "/v1/internal/vercel/oauth/test-connection", json: body)
        #expect(health.json?["missingScopes"] as? [String] == ["read-write:domain"], "\(health.text)")
        let domain = "shop-\(UUID().uuidString.prefix(6).lowercased()).example.com"
        let refused = try await client.signed(
            "POST", "\(base)/domains", json: #"{"userId":"\#(user)","domain":"\#(domain)"}"#)
        #expect(refused.status == 403 && refused.code == "INSUFFICIENT_SCOPE", "\(refused.text)")
        #expect(refused.json?["requiredScope"] as? String == "read-write:domain")

        // Vercel reports the permission upgraded: the same call is allowed.
        let configuration = try #require(
            try fixtures.db.query("SELECT configuration_id FROM vercel_connections WHERE user_id = \(user)").first?[
                "configuration_id"])
        let envelope: [String: Any] = [
            "type": "integration-configuration.permission-upgraded", "id": "evt_upgrade_\(UUID())",
            "createdAt": Int64(Date().timeIntervalSince1970 * 1000),
            "payload": [
                "configuration": ["id": configuration], "scopes": ["added": [], "upgraded": ["read-write:domain"]],
            ],
        ]
        let event = Array(try JSONSerialization.data(withJSONObject: envelope))
        let secret = try TestEnvironment.stackConfiguration()["VERCEL_OAUTH_CLIENT_SECRET"]!
        let delivered = try await client.send(
            "POST", "/v1/webhooks/vercel", body: Data(event),
            headers: [
                "content-type": "application/json",
                "x-vercel-signature": Hex.encode(HMAC.sha1(key: Array(secret.utf8), message: event)),
            ])
        #expect(delivered.json?["outcome"] as? String == "applied", "\(delivered.text)")
        let upgraded = try await client.signed("POST", "/v1/internal/vercel/oauth/test-connection", json: body)
        #expect(upgraded.json?["missingScopes"] as? [String] == [], "\(upgraded.text)")
        let added = try await client.signed(
            "POST", "\(base)/domains", json: #"{"userId":"\#(user)","domain":"\#(domain)"}"#)
        #expect((200..<300).contains(added.status), "\(added.text)")
    }

    // MARK: STAGED production

    @Test func aStagedDeploymentIsNotPromotedProductionUntilItIsPromoted() async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client, buildMs: 600, webhooks: false)
        try await Self.shapes(linked.connected.account, ["stagedProduction"])
        let reply = try await linked.deploy(["deploymentType": "production", "gitSource": ["branch": "main"]])
        let id = try #require((reply.json?["deployment"] as? [String: Any])?["id"] as? String, "\(reply.text)")
        var deployment: [String: Any] = [:]
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let read = try await client.signed("GET", "\(linked.base)/deployments/\(id)?userId=\(linked.user)")
            deployment = read.json?["deployment"] as? [String: Any] ?? [:]
            if deployment["state"] as? String == "READY" { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(deployment["state"] as? String == "READY" && deployment["type"] as? String == "production")
        #expect(deployment["readySubstate"] as? String == "STAGED" && deployment["promoted"] as? Bool == false)

        let rollback = try await client.signed(
            "POST", "\(linked.base)/rollback", json: #"{"userId":"\#(linked.user)","deploymentId":"\#(id)"}"#)
        #expect(rollback.status == 409 && rollback.code == "NOT_A_PRODUCTION_DEPLOYMENT", "\(rollback.text)")

        let promoted = try await client.signed(
            "POST", "\(linked.base)/deployments/\(id)/promote", json: #"{"userId":"\#(linked.user)"}"#)
        #expect(promoted.status == 200, "\(promoted.text)")
        let after = try await client.signed("GET", "\(linked.base)/deployments/\(id)?userId=\(linked.user)")
        let now = after.json?["deployment"] as? [String: Any]
        #expect(now?["readySubstate"] as? String == "PROMOTED" && now?["promoted"] as? Bool == true, "\(after.text)")
    }
}
