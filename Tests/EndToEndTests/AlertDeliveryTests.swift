import Crypto
import Foundation
import Postgres
import TestSupport
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Alerts from the outbox to the platform: a production deployment that fails queues one;
/// `vercel-job-alerts` delivers it to the simulator's inbox signed the Standard Webhooks way,
/// through a receiver that fails five times first; one that never gets through is dead, listed for
/// operators and retried by them. `scripts/dev test` runs this suite on its own: the job delivers
/// every alert that is due, and each test here holds back the others' while it runs.
@Suite(.serialized) struct AlertDeliveryTests {
    let client: StackClient
    let fixtures = StackFixtures()
    let settings: [String: String]
    static let secret = "whsec_" + Data("alert-signing-key-for-tests".utf8).base64EncodedString()

    init() throws {
        client = try StackClient()
        settings = try TestEnvironment.stackConfiguration()
    }

    var simulator: String { settings["VERCEL_SIMULATOR_URL"] ?? "" }

    /// One run of the alerts job, delivering to inbox `name`.
    func runAlertsJob(inbox name: String) throws {
        let inbox = try TestEnvironment.require("TEST_SIMULATOR_URL") + "/_sim/inbox/\(name)"
        let status = try JobRun.run(
            "alerts", overrides: ["SHEEN_ALERT_WEBHOOK_URL": inbox, "SHEEN_ALERT_WEBHOOK_SECRET": Self.secret])
        #expect(status == 0)
    }

    func simulatorCall(_ method: String, _ path: String, json: String? = nil) async throws -> Data {
        var request = URLRequest(url: URL(string: try TestEnvironment.require("TEST_SIMULATOR_URL") + path)!)
        request.httpMethod = method
        request.httpBody = json.map { Data($0.utf8) }
        request.setValue("application/json", forHTTPHeaderField: "content-type")
        return try await URLSession.shared.data(for: request).0
    }

    /// A production deployment of a linked project fails: the webhook queues a `deployment.failed`
    /// alert. Its job id.
    func failProductionDeployment() async throws -> (job: Int64, owner: UUID) {
        let (deployment, owner) = try await fixtures.failProductionDeployment(
            through: client, secret: Array(settings["VERCEL_OAUTH_CLIENT_SECRET"]!.utf8), prefix: "alert")
        let job: Int64 = try fixtures.db.query(
            "SELECT id FROM vercel_jobs WHERE kind = 'alert' AND dedup_key = \("deployment.failed:\(deployment)")")[0]
            .decode("id")
        // Alerts other tests left waiting wait a day more: these tests count deliveries.
        try fixtures.db.execute(
            """
            UPDATE vercel_jobs SET run_after = now() + interval '1 day'
            WHERE kind = 'alert' AND status = 'pending' AND id <> \(job)
            """)
        return (job, owner)
    }

    @Test func aFailedProductionDeploymentReachesThePlatformSignedThroughAReceiverThatFailsFiveTimes() async throws {
        let (job, owner) = try await failProductionDeployment()
        let inbox = "alerts-\(UUID().uuidString.prefix(8))"
        _ = try await simulatorCall("PUT", "/_sim/inbox/\(inbox)/failures", json: #"{"count":5}"#)
        for _ in 0..<6 {
            try fixtures.db.execute("UPDATE vercel_jobs SET run_after = now() WHERE id = \(job)")
            try runAlertsJob(inbox: inbox)
        }
        let refused = try JSONSerialization.jsonObject(
            with: try await simulatorCall("GET", "/_sim/inbox/\(inbox)/refused"))
        #expect((refused as? [String: Any])?["refused"] as? Int == 5)
        let received = try #require(
            try JSONSerialization.jsonObject(with: try await simulatorCall("GET", "/_sim/inbox/\(inbox)"))
                as? [[String: Any]])
        #expect(received.count == 1)
        let item = try #require(received.first)
        let id = try #require(item["webhookID"] as? String)
        let timestamp = try #require(item["webhookTimestamp"] as? String)
        let body = try #require(item["body"] as? String)
        // The signature, computed here from the specification: base64 HMAC-SHA256 of id.timestamp.body.
        let key = Array(Data(base64Encoded: String(Self.secret.dropFirst(6)))!)
        let expected =
            "v1," + Data(HMAC.sha256(key: key, message: Array("\(id).\(timestamp).\(body)".utf8))).base64EncodedString()
        #expect(item["webhookSignature"] as? String == expected)
        let alert = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        #expect(alert["type"] as? String == "deployment.failed" && alert["severity"] as? String == "critical")
        #expect(alert["userId"] as? String == owner.uuidString.lowercased())
        for secret in ["SHEEN_HMAC_SECRET", "VERCEL_OAUTH_CLIENT_SECRET"] {
            #expect(!body.contains(settings[secret]!), "\(secret) in an alert")
        }
        #expect(try fixtures.db.query("SELECT status::text AS s FROM vercel_jobs WHERE id = \(job)")[0]["s"] == "done")
    }

    @Test func anAlertThatNeverGetsThroughIsDeadListedForOperatorsAndRetried() async throws {
        let (job, _) = try await failProductionDeployment()
        let inbox = "dead-\(UUID().uuidString.prefix(8))"
        _ = try await simulatorCall("PUT", "/_sim/inbox/\(inbox)/failures", json: #"{"count":1000}"#)
        try fixtures.db.execute("UPDATE vercel_jobs SET max_attempts = 3 WHERE id = \(job)")
        for _ in 0..<3 {
            try fixtures.db.execute("UPDATE vercel_jobs SET run_after = now() WHERE id = \(job)")
            try runAlertsJob(inbox: inbox)
        }
        #expect(try fixtures.db.query("SELECT status::text AS s FROM vercel_jobs WHERE id = \(job)")[0]["s"] == "dead")

        let admin = try fixtures.user(role: "admin")
        let listed = try await client.signed("GET", "/v1/admin/vercel/jobs?status=dead&userId=\(admin)")
        #expect(listed.status == 200)
        let jobs = try #require(listed.json?["jobs"] as? [[String: Any]])
        #expect(jobs.contains { $0["id"] as? String == "\(job)" && $0["type"] as? String == "deployment.failed" })
        let nonAdmin = try fixtures.user()
        #expect(try await client.signed("GET", "/v1/admin/vercel/jobs?userId=\(nonAdmin)").code == "ADMIN_REQUIRED")

        let retried = try await client.signed(
            "POST", "/v1/admin/vercel/jobs/\(job)/retry", json: #"{"userId":"\#(admin)"}"#)
        #expect(retried.status == 200 && retried.json?["retried"] as? Bool == true)
        let again = try await client.signed(
            "POST", "/v1/admin/vercel/jobs/\(job)/retry", json: #"{"userId":"\#(admin)"}"#)
        #expect(again.status == 409 && again.code == "JOB_NOT_DEAD")
        _ = try await simulatorCall("PUT", "/_sim/inbox/\(inbox)/failures", json: #"{"count":0}"#)
        try runAlertsJob(inbox: inbox)
        #expect(try fixtures.db.query("SELECT status::text AS s FROM vercel_jobs WHERE id = \(job)")[0]["s"] == "done")
    }
}
