import Crypto
import Foundation
import Platform
import PlatformHost
import Testing
import WebhooksGroup

/// The Vercel webhook route, called in process.
@Suite(.serialized) struct WebhookRouteTests {
    let harness: GroupHarness

    init() throws {
        harness = try GroupHarness(WebhooksGroup.group, settings: ["VERCEL_WEBHOOK_SECRETS": "hook-secret,old-secret"])
    }

    func signed(_ body: String, secret: String = "hook-secret") -> GroupHarness.Answer {
        let signature = Hex.encode(HMAC.sha1(key: Array(secret.utf8), message: Array(body.utf8)))
        return harness.send(
            "POST", "/v1/webhooks/vercel", body: Array(body.utf8), headers: ["x-vercel-signature": signature])
    }

    @Test func aSignedEventForALinkedProjectIsAppliedInOneStatement() throws {
        defer { harness.drop() }
        let user = try harness.user()
        let project = try harness.project(of: user)
        try harness.link(project, connection: try harness.connect(user))
        let body = """
            {"id":"evt_1","type":"deployment.succeeded","createdAt":1790000000000,
             "payload":{"deployment":{"id":"dpl_hook","url":"dpl_hook.vercel.app"},"project":{"id":"prj_1"},"target":"production"}}
            """
        let answer = signed(body)
        #expect(answer.status == 200 && answer.json["outcome"] as? String == "applied")
        // One statement: the delivery, its mapping, the deployment locked, the change and its jobs.
        #expect(answer.statements == 1, "a webhook event took \(answer.statements) round trips")
        let row = try harness.db.query(
            "SELECT deployment_state::text AS state FROM vercel_deployments WHERE deployment_id = 'dpl_hook'")
        #expect(row.first?["state"] == "READY")
        #expect(signed(body).json["outcome"] as? String == "duplicate")
    }

    @Test func aRotatedOutSecretStillVerifiesAndAWrongOneStoresNothing() throws {
        defer { harness.drop() }
        let body = #"{"id":"evt_2","type":"project.created","payload":{"project":{"id":"prj_x"}}}"#
        #expect(signed(body, secret: "old-secret").status == 200)
        let wrong = signed(#"{"id":"evt_3","type":"project.created","payload":{}}"#, secret: "guess")
        #expect(wrong.status == 401 && wrong.code == "INVALID_WEBHOOK_SIGNATURE")
        #expect(try harness.db.query("SELECT event_id FROM vercel_webhook_dedup").map { $0["event_id"] } == ["evt_2"])
    }

    /// Times no deployment can have are refused before any arithmetic on them.
    @Test(arguments: ["10000000000000000", "-10000000000000000", "9223372036854775807", "0"])
    func anImpossibleEventTimeIs400AndStoresNothing(createdAt: String) throws {
        defer { harness.drop() }
        let user = try harness.user()
        try harness.link(try harness.project(of: user), connection: try harness.connect(user))
        let answer = signed(
            """
            {"id":"evt_far","type":"deployment.created","createdAt":\(createdAt),
             "payload":{"deployment":{"id":"dpl_far","url":"dpl_far.vercel.app"},"project":{"id":"prj_1"}}}
            """)
        #expect(answer.status == 400 && answer.code == "INVALID_WEBHOOK")
        #expect(try harness.db.query("SELECT 1 AS x FROM vercel_webhook_dedup").isEmpty)
    }
}
