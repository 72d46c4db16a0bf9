import Crypto
import Foundation
import Kernel
import TestSupport
import Testing
import Vercel

/// The input an adversarial pass found unguarded, sent through nginx: each is refused with a code
/// (a browser with the failure page) before any side effect, never a 500.
@Suite struct InputHardeningTests {
    let client: StackClient
    let fixtures = StackFixtures()
    let settings: [String: String]

    init() throws {
        client = try StackClient()
        settings = try TestEnvironment.stackConfiguration()
    }

    func deliver(_ body: String) async throws -> StackClient.Reply {
        let signature = Hex.encode(
            HMAC.sha1(key: Array(settings["VERCEL_OAUTH_CLIENT_SECRET"]!.utf8), message: Array(body.utf8)))
        return try await client.send(
            "POST", "/v1/webhooks/vercel", body: Data(body.utf8),
            headers: ["content-type": "application/json", "x-vercel-signature": signature])
    }

    @Test func aNulInAnyJSONStringIsRefusedBeforeVercelIsCalled() async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client, webhooks: false)
        let reason = try await client.signed(
            "POST", "\(linked.base)/deployment-override", json: #"{"userId":"\#(linked.user)","reason":"fix\u0000it"}"#)
        #expect(reason.status == 400 && reason.code == "NUL_NOT_ALLOWED")

        let unlinked = try fixtures.project(owner: linked.user)
        let before = try await linked.connected.account.requests()["POST /v11/projects"] ?? 0
        let create = try await client.signed(
            "POST", "/v1/projects/\(unlinked)/vercel/projects/link",
            json:
                #"{"userId":"\#(linked.user)","createProject":{"name":"orphan-check"},"deploymentBranchPatterns":["a\u0000b"]}"#
        )
        #expect(create.status == 400 && create.code == "NUL_NOT_ALLOWED")
        #expect(
            try await linked.connected.account.requests()["POST /v11/projects"] ?? 0 == before,
            "a Vercel project was created")
    }

    @Test func lengthsCountAsThePostgresCountsThem() async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client, webhooks: false)
        // 1,000 graphemes, each a letter and a combining accent: 2,000 characters for Postgres.
        let accented = String(repeating: "e\u{301}", count: 1000)
        let reply = try await client.signed(
            "POST", "\(linked.base)/deployment-override",
            json: String(
                decoding: try JSONSerialization.data(withJSONObject: ["userId": "\(linked.user)", "reason": accented]),
                as: UTF8.self))
        #expect(reply.status == 400 && reply.code == "INVALID_REASON")
    }

    @Test func anOversizedVercelProjectIdIsRefusedWithoutCallingVercel() async throws {
        let connected = try await VercelConnectionFixture.connect(fixtures, client)
        let project = try fixtures.project(owner: connected.user)
        let reply = try await client.signed(
            "POST", "/v1/projects/\(project)/vercel/projects/link",
            json: #"{"userId":"\#(connected.user)","vercelProjectId":"\#(String(repeating: "p", count: 100_000))"}"#)
        #expect(reply.status == 400 && reply.code == "INVALID_VERCEL_PROJECT_ID")
        #expect(try await connected.account.requests().keys.allSatisfy { !$0.hasPrefix("GET /v9/projects") })
    }

    @Test func repeatedQueryParametersAndDuplicateJSONKeysAreRefused() async throws {
        let first = try fixtures.user()
        let second = try fixtures.user()
        let repeated = try await client.signed(
            "GET", "/v1/internal/vercel/oauth/status?userId=\(first)&userId=\(second)")
        #expect(repeated.status == 400 && repeated.code == "DUPLICATE_QUERY_PARAMETER")
        let duplicated = try await client.signed(
            "POST", "/v1/internal/vercel/oauth/initiate", json: #"{"userId":"\#(first)","userId":"\#(second)"}"#)
        #expect(duplicated.status == 400 && duplicated.code == "DUPLICATE_JSON_KEY")
        let spelledTwice = try await client.signed(
            "POST", "/v1/internal/vercel/oauth/initiate",
            json: #"{"userId":"\#(first)","teamId":"a","te\u0061mId":"b"}"#)
        #expect(spelledTwice.code == "DUPLICATE_JSON_KEY")
    }

    @Test func webhookIdsThatDifferOnlyAfterANulOrRunPastTheIndexAreRefusedNotMerged() async throws {
        for id in ["evt_same\\u0000a", "evt_same\\u0000b", String(repeating: "e", count: 3000)] {
            let reply = try await deliver(
                #"{"id":"\#(id)","type":"project.created","createdAt":1790000000000,"payload":{}}"#)
            #expect(reply.status == 400 && reply.code == "INVALID_WEBHOOK")
        }
        let duplicateKeys = try await deliver(
            #"{"id":"evt_dup_keys","type":"project.created","type":"deployment.created","createdAt":1790000000000,"payload":{}}"#
        )
        #expect(duplicateKeys.status == 400)
    }

    @Test func aRedirectUriWithALineBreakIsRefusedAtInitiate() async throws {
        let user = try fixtures.user()
        let success = try #require(settings["SHEEN_OAUTH_SUCCESS_URL"])
        let reply = try await client.signed(
            "POST", "/v1/internal/vercel/oauth/initiate",
            json: #"{"userId":"\#(user)","redirectUri":"\#(success)\r\nSet-Cookie: a=b"}"#)
        #expect(reply.status == 400 && reply.code == "INVALID_REDIRECT_URI")
    }

    /// A signed Vercel event naming a deployment with an empty id would queue work that can never
    /// succeed: it is refused as not an event Vercel sends, and nothing is stored.
    @Test func aVercelEventWithAnEmptyDeploymentIdIsRefused() async throws {
        let id = "evt_empty_\(UUID().uuidString.prefix(8))"
        let reply = try await deliver(
            #"{"id":"\#(id)","type":"deployment.created","createdAt":1790000000000,"payload":{"deployment":{"id":""}}}"#
        )
        #expect(reply.status == 400 && reply.code == "INVALID_WEBHOOK", "\(reply.text)")
        #expect(try fixtures.db.query("SELECT 1 AS x FROM vercel_webhook_dedup WHERE event_id = \(id)").isEmpty)
    }

    /// A caller without the admin role is told so, whatever their body holds: the role is judged
    /// before the route's fields are.
    @Test func aNonAdminsMalformedBreakGlassBodyIsRefusedForTheRoleFirst() async throws {
        let user = try fixtures.user()
        for body in [#"{"userId":"\#(user)"}"#, #"{"userId":"\#(user)","accessLevel":7,"justification":[]}"#] {
            let reply = try await client.signed("POST", "/v1/admin/vercel/breakglass/requests", json: body)
            #expect(reply.status == 403 && reply.code == "ADMIN_REQUIRED", "\(reply.text)")
        }
    }

    /// A NUL in the OAuth callback's query lands the browser on the failure page, as any other
    /// bad state does, not on a JSON error.
    @Test func aNulInTheOAuthCallbacksStateRedirectsToTheFailurePage() async throws {
        let browser = CurlTransport()
        for query in ["state=abc%00def&code=x", "state=a&state=b&code=x"] {
            let reply = try browser.send(
                HTTPRequest(method: "GET", url: client.baseURL + "/v1/internal/vercel/oauth/callback?\(query)"))
            #expect(reply.status == 302, "\(query): \(reply.status) \(String(decoding: reply.body, as: UTF8.self))")
            #expect(
                reply.header("location") == settings["SHEEN_OAUTH_FAILURE_URL"]! + "?error=STATE_INVALID",
                "\(query): \(reply.header("location") ?? "no location")")
        }
    }
}
