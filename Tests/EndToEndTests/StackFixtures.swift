import Crypto
import Foundation
import Postgres
import TestSupport

/// Users and projects in the running stack's database.
struct StackFixtures {
    let db = PostgresConnection(.init(url: ProcessInfo.processInfo.environment["TEST_DATABASE_URL"] ?? ""))

    func user(role: String = "user") throws -> UUID {
        try db.query(
            "INSERT INTO users (email, role) VALUES (\(UUID().uuidString + "@example.com"), \(role)) RETURNING id")[0]
            .decode("id")
    }

    func project(owner: UUID) throws -> UUID {
        try db.query("INSERT INTO projects (owner_id, name) VALUES (\(owner), 'e2e') RETURNING id")[0].decode("id")
    }

    /// The pid of a group's function, from the stack's run directory.
    static func pid(of group: String) throws -> Int32 {
        let run = URL(fileURLWithPath: try TestEnvironment.require("TEST_LOG_DIR")).deletingLastPathComponent()
            .appendingPathComponent("run/\(group).pid")
        return Int32(try String(contentsOf: run, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))!
    }

    /// Everything the functions and nginx have logged so far.
    static func logs() throws -> String {
        let directory = try TestEnvironment.require("TEST_LOG_DIR")
        return try FileManager.default.contentsOfDirectory(atPath: directory)
            .map { try String(contentsOfFile: directory + "/" + $0, encoding: .utf8) }
            .joined(separator: "\n")
    }

    /// The stack's logs once `ready` holds of them (lines reach the files a moment after the
    /// reply); what there is after `seconds` otherwise, for the test's expectations to judge.
    static func logs(seconds: Double = 10, until ready: (String) -> Bool) async throws -> String {
        let deadline = Date().addingTimeInterval(seconds)
        var logs = try logs()
        while !ready(logs), Date() < deadline {
            try await Task.sleep(for: .milliseconds(50))
            logs = try Self.logs()
        }
        return logs
    }

    /// A production deployment of a project mapped to a revoked connection fails, as Vercel's
    /// webhooks tell it (`deployment.created`, then `deployment.error`, signed with `secret`, sent
    /// through `client`): the `deployment.failed` alert it queues has the dedup key
    /// `deployment.failed:<deployment>`. The deployment's id and the project's owner.
    func failProductionDeployment(
        through client: StackClient, secret: [UInt8], prefix: String
    ) async throws -> (deployment: String, owner: UUID) {
        let owner = try user()
        let project = try project(owner: owner)
        let vercelProject = "prj_\(prefix)_\(UUID().uuidString.prefix(8).lowercased())"
        let connection: UUID = try db.query(
            "INSERT INTO vercel_connections (user_id, account_type, status) VALUES (\(owner), 'personal', 'revoked') RETURNING id"
        )[0]
        .decode("id")
        try db.execute(
            """
            INSERT INTO vercel_project_mappings (project_id, vercel_connection_id, vercel_project_id)
            VALUES (\(project), \(connection), \(vercelProject))
            """)
        let deployment = "dpl_\(vercelProject)"
        for type in ["deployment.created", "deployment.error"] {
            let body = Array(
                """
                {"id":"evt_\(type)_\(deployment)","type":"\(type)","createdAt":1790000000000,
                 "payload":{"deployment":{"id":"\(deployment)","url":"\(deployment).vercel.app"},"project":{"id":"\(vercelProject)"},
                 "target":"production"}}
                """.utf8)
            let reply = try await client.send(
                "POST", "/v1/webhooks/vercel", body: Data(body),
                headers: [
                    "content-type": "application/json",
                    "x-vercel-signature": Hex.encode(HMAC.sha1(key: secret, message: body)),
                ])
            guard reply.status == 200 else { throw TestEnvironment.Missing(name: "a 200 for \(type) (\(reply.text))") }
        }
        return (deployment, owner)
    }
}
