import Foundation
import Postgres
import TestSupport
import Vercel

/// A connected user with a platform project linked to a git-connected Vercel project, whose
/// simulator account sends its webhooks to the service and builds in `buildMs`.
struct LinkedProjectFixture {
    let connected: VercelConnectionFixture
    let project: UUID
    let vercelProject: VercelProject
    let client: StackClient
    let fixtures: StackFixtures

    var user: UUID { connected.user }
    var base: String { "/v1/projects/\(project)/vercel" }

    static func make(
        _ fixtures: StackFixtures, _ client: StackClient, buildMs: Int = 300, webhooks: Bool = true,
        repository: VercelProjectSettings.GitRepository = .init(type: "github", repo: "acme/storefront"),
        smokeChecks: Bool = false
    ) async throws -> LinkedProjectFixture {
        let connected = try await VercelConnectionFixture.connect(fixtures, client)
        try await connected.account.setFaults(["buildMs": buildMs])
        if webhooks {
            try await connected.account.admin("PUT", "/_sim/webhooks", ["url": client.baseURL + "/v1/webhooks/vercel"])
        }
        let vercelProject = try connected.vercel.createProject(
            VercelProjectSettings(
                name: "app-\(UUID().uuidString.prefix(8).lowercased())", framework: "nextjs",
                gitRepository: repository),
            connected.credentials)
        let project = try fixtures.project(owner: connected.user)
        let linked = try await client.signed(
            "POST", "/v1/projects/\(project)/vercel/projects/link",
            json: #"{"userId":"\#(connected.user)","vercelProjectId":"\#(vercelProject.id)"}"#)
        guard linked.status == 200 else { throw TestEnvironment.Missing(name: "a linked project (\(linked.text))") }
        // Off unless a test is about them: a blocking check holds production until the sync job
        // probes the deployment, which the other tests do not run; so does rollback on its own.
        // (Written here, not through the route, so the tests' audit trails stay their own.)
        if !smokeChecks {
            try fixtures.db.execute(
                """
                INSERT INTO vercel_smoke_check_settings (vercel_project_mapping_id, checks, enabled, rollback_enabled)
                SELECT id, '[{"path":"/","latencyBudgetMs":5000}]', false, false FROM vercel_project_mappings
                WHERE project_id = \(project)
                """)
        }
        return LinkedProjectFixture(
            connected: connected, project: project, vercelProject: vercelProject, client: client, fixtures: fixtures)
    }

    /// `POST .../deploy` with `fields` beside `userId`.
    func deploy(_ fields: [String: Any]) async throws -> StackClient.Reply {
        var body = fields
        body["userId"] = user.uuidString
        let json = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
        return try await client.signed("POST", "\(base)/deploy", json: json)
    }

    /// A preview deployment of `branch`, its id.
    func deployPreview(branch: String = "main") async throws -> String {
        let reply = try await deploy(["deploymentType": "preview", "gitSource": ["branch": branch]])
        guard reply.status == 202, let deployment = reply.json?["deployment"] as? [String: Any],
            let id = deployment["id"] as? String
        else {
            throw TestEnvironment.Missing(name: "a 202 deployment (\(reply.status) \(reply.text))")
        }
        return id
    }

    /// The stored state of a deployment, read from the database (not through a route that would
    /// ask Vercel).
    func storedState(_ deploymentID: String) throws -> String? {
        try fixtures.db.query(
            "SELECT deployment_state::text AS state FROM vercel_deployments WHERE deployment_id = \(deploymentID)"
        ).first?["state"]
    }

    /// Waits until the stored state is `state`; the last state seen.
    @discardableResult
    func waitForStoredState(_ deploymentID: String, _ state: String, seconds: Double = 15) async throws -> String? {
        let deadline = Date().addingTimeInterval(seconds)
        var seen: String?
        while Date() < deadline {
            seen = try storedState(deploymentID)
            if seen == state { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        return seen
    }

    /// `GET .../deployments/:id`, the deployment object.
    func get(_ deploymentID: String) async throws -> [String: Any]? {
        try await client.signed("GET", "\(base)/deployments/\(deploymentID)?userId=\(user)").json?["deployment"]
            as? [String: Any]
    }

    /// Waits until Vercel (through the get route) reports `state`.
    func waitForState(_ deploymentID: String, _ state: String, seconds: Double = 15) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await get(deploymentID)?["state"] as? String == state { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    /// Audit actions recorded for this project, oldest first.
    func auditActions() throws -> [String] {
        try fixtures.db.query("SELECT action FROM vercel_security_audit_log WHERE project_id = \(project) ORDER BY id")
            .map { try $0.decode("action") }
    }
}
