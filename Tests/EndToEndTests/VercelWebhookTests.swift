import Crypto
import Foundation
import Kernel
import Logging
import Postgres
import TestSupport
import Testing
import Vercel

/// `POST /v1/webhooks/vercel` through nginx: signatures, dedup, the lifecycle in any order, the
/// queue for events that cannot be applied yet, and the simulator's own webhooks end to end.
@Suite(.serialized) struct VercelWebhookTests {
    let client: StackClient
    let fixtures = StackFixtures()
    let settings: [String: String]

    init() throws {
        client = try StackClient()
        settings = try TestEnvironment.stackConfiguration()
    }

    /// A platform project linked to Vercel project `vercelProject`.
    func linkedProject(_ vercelProject: String) throws -> UUID {
        let owner = try fixtures.user()
        let project = try fixtures.project(owner: owner)
        let connection: UUID = try fixtures.db.query(
            "INSERT INTO vercel_connections (user_id, account_type, access_token_sealed, configuration_id) VALUES (\(owner), 'personal', 'v1.k.iv.ct', \("icfg_\(vercelProject)")) RETURNING id"
        )[0].decode("id")
        try fixtures.db.execute(
            "INSERT INTO vercel_project_mappings (project_id, vercel_connection_id, vercel_project_id) VALUES (\(project), \(connection), \(vercelProject))"
        )
        return project
    }

    func event(
        _ type: String, deployment: String, project: String, at: Int64, id: String? = UUID().uuidString,
        target: String? = nil
    ) -> [UInt8] {
        var payload: [String: Any] = [
            "deployment": ["id": deployment, "url": "\(deployment).vercel.app", "name": "app", "meta": [:]],
            "project": ["id": project], "user": ["id": "u"], "team": NSNull(),
            "links": ["deployment": "https://vercel.com"],
        ]
        if let target { payload["target"] = target }
        var envelope: [String: Any] = ["type": type, "createdAt": at, "region": "iad1", "payload": payload]
        if let id { envelope["id"] = id }
        return Array(try! JSONSerialization.data(withJSONObject: envelope, options: [.sortedKeys]))
    }

    func deliver(_ body: [UInt8], secret: String? = nil, signature: String? = nil) async throws -> StackClient.Reply {
        let key = secret ?? settings["VERCEL_OAUTH_CLIENT_SECRET"]!
        var headers = ["content-type": "application/json"]
        headers["x-vercel-signature"] = signature ?? Hex.encode(HMAC.sha1(key: Array(key.utf8), message: body))
        return try await client.send("POST", "/v1/webhooks/vercel", body: Data(body), headers: headers)
    }

    func deployment(_ id: String) throws -> PostgresRow? {
        try fixtures.db.query(
            "SELECT deployment_state::text AS state, invalid_transitions, build_duration_ms, ready_at, deployment_type::text AS type FROM vercel_deployments WHERE deployment_id = \(id)"
        ).first
    }

    @Test func goodAndRotatedSignaturesAreAcceptedAndBadMissingOrChangedOnesStoreNothing() async throws {
        _ = try linkedProject("prj_sig")
        let id = "dpl_sig_\(UUID().uuidString.prefix(8))"
        let body = event("deployment.created", deployment: id, project: "prj_sig", at: 1_790_000_000_000)
        #expect(try await deliver(body, secret: "wrong-secret").status == 401)
        #expect(try await deliver(body, signature: "").status == 401)
        var changed = body
        changed[changed.count - 2] ^= 0x01
        let signedOriginal = Hex.encode(
            HMAC.sha1(key: Array(settings["VERCEL_OAUTH_CLIENT_SECRET"]!.utf8), message: body))
        let tampered = try await deliver(changed, signature: signedOriginal)
        #expect(tampered.status == 401 && tampered.code == "INVALID_WEBHOOK_SIGNATURE")
        #expect(
            try fixtures.db.query("SELECT count(*) AS n FROM vercel_webhook_dedup WHERE deployment_id = \(id)")[0]["n"]
                == "0")

        #expect(try await deliver(body).json?["outcome"] as? String == "applied")
        let rotated = event("deployment.ready", deployment: id, project: "prj_sig", at: 1_790_000_060_000)
        #expect(
            try await deliver(rotated, secret: "rotated-out-webhook-secret").json?["outcome"] as? String == "applied")
        #expect(try deployment(id)?["state"] == "READY")
    }

    /// A signed event whose time no deployment can have once parked a worker per delivery (the
    /// timestamp conversion trapped) and, past the workers' spares, stopped the process. Now each
    /// is a 400, and the same process keeps answering.
    @Test func eventsWithImpossibleTimesAre400AndTheProcessKeepsServing() async throws {
        _ = try linkedProject("prj_far_future")
        let pid = try StackFixtures.pid(of: "webhooks")
        for index in 0..<20 {
            let body = event(
                "deployment.created", deployment: "dpl_far_\(index)", project: "prj_far_future",
                at: index.isMultiple(of: 2) ? 10_000_000_000_000_000 : -10_000_000_000_000_000)
            let reply = try await deliver(body)
            #expect(reply.status == 400 && reply.code == "INVALID_WEBHOOK")
        }
        #expect(try deployment("dpl_far_0") == nil)
        let good = try await deliver(
            event("deployment.created", deployment: "dpl_far_ok", project: "prj_far_future", at: 1_790_000_000_000))
        #expect(good.status == 200)
        #expect(try StackFixtures.pid(of: "webhooks") == pid)
    }

    @Test func aDuplicateIsAcknowledgedAndChangesNothing() async throws {
        _ = try linkedProject("prj_dup")
        let id = "dpl_dup_\(UUID().uuidString.prefix(8))"
        let body = event(
            "deployment.error", deployment: id, project: "prj_dup", at: 1_790_000_000_000, id: "evt_dup_\(id)")
        #expect(try await deliver(body).json?["outcome"] as? String == "applied")
        let again = try await deliver(body)
        #expect(again.status == 200 && again.json?["outcome"] as? String == "duplicate")
        // Without an id, the same body for the same deployment is a duplicate too.
        let anonymous = event("deployment.canceled", deployment: id, project: "prj_dup", at: 1_790_000_001_000, id: nil)
        _ = try await deliver(anonymous)
        #expect(try await deliver(anonymous).json?["outcome"] as? String == "duplicate")
        #expect(
            try fixtures.db.query("SELECT count(*) AS n FROM vercel_webhook_dedup WHERE deployment_id = \(id)")[0]["n"]
                == "2")
    }

    @Test func eventsOutOfOrderEndInTheInOrderStateAndInvalidJumpsAreCountedNotApplied() async throws {
        _ = try linkedProject("prj_order")
        let id = "dpl_order_\(UUID().uuidString.prefix(8))"
        _ = try await deliver(
            event("deployment.ready", deployment: id, project: "prj_order", at: 1_790_000_090_000, target: "production")
        )
        _ = try await deliver(
            event(
                "deployment.created", deployment: id, project: "prj_order", at: 1_790_000_000_000, target: "production")
        )
        let ready = try #require(try deployment(id))
        #expect(ready["state"] == "READY" && ready["type"] == "PRODUCTION")
        #expect(ready["build_duration_ms"] == "90000")
        let rejected = try await deliver(
            event("deployment.error", deployment: id, project: "prj_order", at: 1_790_000_095_000))
        #expect(rejected.json?["outcome"] as? String == "rejected")
        #expect(try deployment(id)?["state"] == "READY" && deployment(id)?["invalid_transitions"] == "1")
        #expect(
            try fixtures.db.query("SELECT count(*) AS n FROM vercel_deployments WHERE deployment_id = \(id)")[0]["n"]
                == "1")
    }

    @Test func anEventForAProjectNotLinkedYetIsQueuedAndAppliedByTheRetryJob() async throws {
        let vercelProject = "prj_late_\(UUID().uuidString.prefix(8))"
        let id = "dpl_late_\(UUID().uuidString.prefix(8))"
        let reply = try await deliver(
            event("deployment.created", deployment: id, project: vercelProject, at: 1_790_000_000_000))
        #expect(reply.status == 200 && reply.json?["outcome"] as? String == "queued")
        #expect(try deployment(id) == nil)
        _ = try linkedProject(vercelProject)
        try fixtures.db.execute(
            "UPDATE vercel_jobs SET run_after = now() WHERE kind = 'webhook.apply' AND payload->>'body' LIKE \("%\(id)%")"
        )
        let job = Process()
        job.executableURL = URL(
            fileURLWithPath: try TestEnvironment.require("TEST_BIN_DIR") + "/vercel-job-webhook-retry")
        var environment = ProcessInfo.processInfo.environment
        environment.merge(settings) { $1 }
        job.environment = environment
        job.standardError = FileHandle.nullDevice
        try job.run()
        job.waitUntilExit()
        #expect(job.terminationStatus == 0)
        #expect(try deployment(id)?["state"] == "QUEUED")
        #expect(
            try fixtures.db.query("SELECT status::text AS s FROM vercel_jobs WHERE payload->>'body' LIKE \("%\(id)%")")[
                0]["s"] == "done")
    }

    @Test func anEventTheDatabaseRefusesIsQueuedNotLostAndOversizedBodiesAre413() async throws {
        _ = try linkedProject("prj_refused")
        // Postgres refuses this one deployment id (a constraint added for the test), so applying
        // fails inside the database after the delivery passed every check of the route.
        let id = "dpl_refused_\(UUID().uuidString.prefix(8).lowercased())"
        // DDL takes no bind values; the id is generated hex.
        try fixtures.db.executeScript(
            "ALTER TABLE vercel_deployment_keys ADD CONSTRAINT test_refuses_one CHECK (deployment_id <> '\(id)') NOT VALID"
        )
        defer {
            _ = try? fixtures.db.executeScript("ALTER TABLE vercel_deployment_keys DROP CONSTRAINT test_refuses_one")
        }
        let reply = try await deliver(
            event(
                "deployment.created", deployment: id, project: "prj_refused", at: 1_790_000_000_000,
                id: "evt_refused_\(UUID())"))
        #expect(reply.status == 200 && reply.json?["outcome"] as? String == "queued")
        #expect(
            try fixtures.db.query(
                "SELECT count(*) AS n FROM vercel_jobs WHERE kind = 'webhook.apply' AND payload->>'body' LIKE \("%\(id)%")"
            )[0]["n"] == "1")

        var large = Array(#"{"type":"deployment.created","id":"evt_big","payload":{"pad":""#.utf8)
        large += [UInt8](repeating: UInt8(ascii: "a"), count: 1 << 20)
        large += Array(#""}}"#.utf8)
        let tooLarge = try await deliver(large)
        #expect(tooLarge.status == 413 && tooLarge.code == "PAYLOAD_TOO_LARGE")
    }

    @Test func removingTheIntegrationRevokesItsConnection() async throws {
        let vercelProject = "prj_gone_\(UUID().uuidString.prefix(8))"
        _ = try linkedProject(vercelProject)
        let envelope: [String: Any] = [
            "type": "integration-configuration.removed", "id": "evt_\(vercelProject)", "createdAt": 1_790_000_000_000,
            "payload": ["configuration": ["id": "icfg_\(vercelProject)"]],
        ]
        let body = Array(try JSONSerialization.data(withJSONObject: envelope))
        #expect(try await deliver(body).json?["outcome"] as? String == "applied")
        #expect(
            try fixtures.db.query(
                "SELECT status::text AS s FROM vercel_connections WHERE configuration_id = \("icfg_\(vercelProject)")")[
                    0]["s"] == "revoked")
        let unknown: [String: Any] = [
            "type": "domain.created", "id": "evt_unknown_\(vercelProject)", "createdAt": 1_790_000_000_001,
            "payload": [:],
        ]
        #expect(
            try await deliver(Array(try JSONSerialization.data(withJSONObject: unknown))).json?["outcome"] as? String
                == "ignored")
    }

    /// 500 deployments, 18 events each (created, their outcome, and others), 10% of the events
    /// delivered twice, all shuffled and sent over 32 connections: each deployment ends where the
    /// events in order lead, with one row each.
    @Test func tenThousandShuffledEventsWithDuplicatesOver32ConnectionsEndInTheInOrderStates() async throws {
        let vercelProject = "prj_replay_\(UUID().uuidString.prefix(8).lowercased())"
        _ = try linkedProject(vercelProject)
        var deliveries: [[UInt8]] = []
        var expected: [String: String] = [:]
        for index in 0..<500 {
            let id = "dpl_\(vercelProject.dropFirst(4))_\(index)"
            let start: Int64 = 1_790_000_000_000 + Int64(index) * 10_000
            var events: [(String, Int64)] = [("deployment.created", start)]
            switch index % 20 {
            case 0..<11:
                events += [
                    ("deployment.succeeded", start + 4000), ("deployment.ready", start + 4000),
                    ("deployment.promoted", start + 5000),
                ]
                expected[id] = "READY"
            case 11:
                events += [("deployment.ready", start + 4000), ("deployment.canceled", start + 6000)]
                expected[id] = "CANCELED"
            case 12..<17:
                events += [("deployment.error", start + 3000)]
                expected[id] = "ERROR"
            default:
                events += [("deployment.canceled", start + 2000)]
                expected[id] = "CANCELED"
            }
            var filler = 0
            while events.count < 18 {
                filler += 1
                events.append(("deployment.check-rerequested", start + Int64(filler)))
            }
            for (number, (type, at)) in events.enumerated() {
                deliveries.append(
                    event(type, deployment: id, project: vercelProject, at: at, id: "evt_\(id)_\(number)"))
            }
        }
        let unique = deliveries.count
        deliveries += (0..<(unique / 9)).map { _ in deliveries.randomElement()! }
        deliveries.shuffle()
        #expect(unique == 9000 && deliveries.count == 10_000)

        let secret = Array(settings["VERCEL_OAUTH_CLIENT_SECRET"]!.utf8)
        let client = self.client
        let slices = (0..<32).map { worker in stride(from: worker, to: deliveries.count, by: 32).map { deliveries[$0] }
        }
        let failures = try await withThrowingTaskGroup(of: Int.self) { group in
            for slice in slices {
                group.addTask {
                    var failed = 0
                    for body in slice {
                        let reply = try await client.send(
                            "POST", "/v1/webhooks/vercel", body: Data(body),
                            headers: [
                                "content-type": "application/json",
                                "x-vercel-signature": Hex.encode(HMAC.sha1(key: secret, message: body)),
                            ])
                        if reply.status != 200 { failed += 1 }
                    }
                    return failed
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(failures == 0)
        let prefix = "dpl_\(vercelProject.dropFirst(4))_%"
        let rows = try fixtures.db.query(
            "SELECT deployment_id, deployment_state::text AS state FROM vercel_deployments WHERE deployment_id LIKE \(prefix)"
        )
        #expect(rows.count == 500)
        var mismatched = 0
        for row in rows where expected[row["deployment_id"] ?? ""] != row["state"] { mismatched += 1 }
        #expect(mismatched == 0)
        #expect(
            try fixtures.db.query("SELECT count(*) AS n FROM vercel_webhook_dedup WHERE deployment_id LIKE \(prefix)")[
                0]["n"] == "9000")
    }

    @Test func theSimulatorsSignedWebhooksMoveOurDeploymentToReady() async throws {
        let account = try await SimulatorAccount.create()
        try await account.setFaults(["buildMs": 200])
        try await account.admin("PUT", "/_sim/webhooks", ["url": client.baseURL + "/v1/webhooks/vercel"])
        let vercel = VercelClient(
            configuration: .init(apiBaseURL: account.baseURL), transport: CurlTransport(), breakers: nil,
            logger: Logger(label: "t"))
        let credentials = VercelClient.Credentials(accessToken: account.token)
        let project = try vercel.createProject(
            VercelProjectSettings(name: "hooked-\(UUID().uuidString.prefix(6).lowercased())"), credentials)
        _ = try linkedProject(project.id)
        let created = try vercel.createDeployment(
            VercelDeploymentRequest(
                name: project.name, project: project.id, gitSource: .github(org: "a", repo: "b", ref: "main", sha: nil)),
            credentials)
        var state: String?
        for _ in 0..<100 {
            state = try deployment(created.id)?["state"]
            if state == "READY" { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(state == "READY")
        #expect(try deployment(created.id)?["build_duration_ms"] == "200")
    }
}
