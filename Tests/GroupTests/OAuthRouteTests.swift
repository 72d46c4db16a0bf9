import Foundation
import Kernel
import Platform
import PlatformHost
import TestSupport
import Testing
import Vercel

@testable import OAuthGroup

/// Every route of the `oauth` group, called in process with Vercel scripted.
@Suite(.serialized) struct OAuthRouteTests {
    let harness: GroupHarness
    let user: UUID
    static let base = "/v1/internal/vercel/oauth"

    init() throws {
        harness = try GroupHarness(OAuthGroup.group)
        user = try harness.user()
    }

    func scriptAccount() {
        harness.vercel.on(
            "POST", "/v2/oauth/access_token", json: #"{"access_token":"vca_new","user_id":"vu_9","team_id":null}"#)
        harness.vercel.on(
            "GET", "/v2/user", json: #"{"user":{"id":"vu_9","email":"dev@example.com","username":"dev"}}"#)
    }

    /// Initiates as `user` and comes back through the callback; the redirect's Location.
    func connectThroughTheCallback() throws -> String {
        let started = try harness.call("POST", "\(Self.base)/initiate", as: user)
        let state = try #require(started.json["state"] as? String)
        let back = harness.send("GET", "\(Self.base)/callback?code=c0de&state=\(state)&configurationId=icfg_9")
        #expect(back.status == 302)
        return try #require(back.header("Location"))
    }

    @Test func initiateGivesASingleUseStateBoundToTheUser() throws {
        defer { harness.drop() }
        let answer = try harness.call("POST", "\(Self.base)/initiate", as: user)
        #expect(answer.status == 200)
        let url = try #require(answer.json["authorizationUrl"] as? String)
        #expect(url.hasPrefix("https://vercel.com/integrations/sheen-test/new?state="))
        let stored = try harness.db.query("SELECT state_hash, user_id FROM vercel_oauth_states")
        #expect(stored.count == 1 && stored[0]["state_hash"] != answer.json["state"] as? String)
        let elsewhere = try harness.call(
            "POST", "\(Self.base)/initiate", as: user, json: ["redirectUri": "https://evil.test/x"])
        #expect(elsewhere.code == "INVALID_REDIRECT_URI")
    }

    @Test func theCallbackHoldsTheGrantUntilItIsConfirmedByItsUser() throws {
        defer { harness.drop() }
        scriptAccount()
        let location = try connectThroughTheCallback()
        #expect(location.hasPrefix("https://platform.test/connected?status=confirm#confirmation="))
        #expect(try harness.db.query("SELECT 1 AS x FROM vercel_connections").isEmpty)
        let confirmation = String(location.split(separator: "=").last!)
        let stranger = try harness.user()
        harness.vercel.on("POST", "/login/oauth/token/revoke", json: "{}")
        let stolen = try harness.call(
            "POST", "\(Self.base)/confirm", as: stranger, json: ["confirmation": confirmation])
        #expect(stolen.status == 403 && stolen.code == "OAUTH_USER_MISMATCH")
        #expect(try harness.db.query("SELECT 1 AS x FROM vercel_connections").isEmpty)

        let again = try connectThroughTheCallback()
        let confirmed = try harness.call(
            "POST", "\(Self.base)/confirm", as: user, json: ["confirmation": String(again.split(separator: "=").last!)])
        #expect(
            confirmed.status == 200 && confirmed.json["connected"] as? Bool == true
                && confirmed.json["accountType"] as? String == "personal")
        let reused = try harness.call(
            "POST", "\(Self.base)/confirm", as: user, json: ["confirmation": String(again.split(separator: "=").last!)])
        #expect(reused.code == "CONFIRMATION_INVALID")
    }

    @Test func aCallbackWithAnUnknownStateChangesNothing() throws {
        defer { harness.drop() }
        let back = harness.send("GET", "\(Self.base)/callback?code=c0de&state=\(String(repeating: "s", count: 43))")
        #expect(back.status == 302 && back.header("Location") == "https://platform.test/failed?error=STATE_INVALID")
        #expect(harness.vercel.sent.isEmpty)
    }

    @Test func statusListsConnectionsInAtMostThreeRoundTrips() throws {
        defer { harness.drop() }
        let empty = try harness.call("GET", "\(Self.base)/status", as: user)
        #expect(empty.status == 200 && empty.json["connected"] as? Bool == false && empty.json["connection"] is NSNull)
        _ = try harness.connect(user, team: "team_1")
        let answer = try harness.call("GET", "\(Self.base)/status", as: user)
        #expect(answer.json["connected"] as? Bool == true)
        #expect((answer.json["connection"] as? [String: Any])?["teamId"] as? String == "team_1")
        #expect(!answer.text.contains("vca_"))
        #expect(answer.statements <= 3, "oauth/status took \(answer.statements) round trips")
    }

    @Test func testConnectionCallsVercelWithTheStoredToken() throws {
        defer { harness.drop() }
        _ = try harness.connect(user, scopes: ["read:user"])
        harness.vercel.on("GET", "/v2/user") { request in
            let authorized = request.headers.contains { $0 == ("Authorization", "Bearer vca_test-token") }
            return HTTPResponse(
                status: authorized ? 200 : 401,
                body: Array(#"{"user":{"id":"vu_1","email":"v@example.com","username":"v"}}"#.utf8))
        }
        let answer = try harness.call("POST", "\(Self.base)/test-connection", as: user)
        #expect(answer.status == 200 && answer.json["healthy"] as? Bool == true)
        #expect((answer.json["missingScopes"] as? [String])?.contains("read-write:deployment") == true)
    }

    @Test func refreshRotatesTheTokensOfAnOAuthAppConnection() throws {
        defer { harness.drop() }
        let connection = try harness.connect(user, refreshToken: "vcr_old", expiresAt: Date().addingTimeInterval(3600))
        harness.vercel.on(
            "POST", "/login/oauth/token",
            json: #"{"access_token":"vca_fresh","refresh_token":"vcr_new","expires_in":3600,"token_type":"Bearer"}"#)
        let answer = try harness.call("POST", "\(Self.base)/refresh", as: user)
        #expect(answer.status == 200 && answer.json["refreshed"] as? Bool == true)
        let credential = try ConnectionStore(database: harness.db, keyRing: harness.keyRing).credential(connection)
        #expect(credential.accessToken == "vca_fresh" && credential.refreshToken == "vcr_new")
        _ = try harness.connect(user, team: "team_2")
        let integration = try harness.call("POST", "\(Self.base)/refresh", as: user)
        #expect(integration.code == "REFRESH_NOT_SUPPORTED")
    }

    @Test func disconnectRevokesAndForgetsTheTokens() throws {
        defer { harness.drop() }
        let connection = try harness.connect(user, refreshToken: "vcr_1", expiresAt: Date().addingTimeInterval(3600))
        harness.vercel.on("POST", "/login/oauth/token/revoke", json: "{}")
        let answer = try harness.call(
            "POST", "\(Self.base)/disconnect", as: user, json: ["connectionId": connection.uuidString])
        #expect(answer.status == 200 && answer.json["disconnected"] as? Bool == true)
        #expect(harness.vercel.sent.filter { $0 == "POST /login/oauth/token/revoke" }.count == 2)
        let row = try harness.db.query("SELECT status::text AS status, access_token_sealed FROM vercel_connections")[0]
        #expect(row["status"] == "disconnected" && row["access_token_sealed"] == nil)
        #expect(
            try harness.call("POST", "\(Self.base)/disconnect", as: user, json: ["connectionId": "nope"]).code
                == "INVALID_CONNECTION_ID")
    }

    @Test func unsignedOrReplayedCallsAreRefused() throws {
        defer { harness.drop() }
        #expect(harness.send("GET", "\(Self.base)/status?userId=\(user)").code == "MISSING_SIGNATURE")
        let target = "\(Self.base)/status?userId=\(user.uuidString.lowercased())"
        let headers = PlatformSigner.headers("GET", target, secret: harness.secret)
        #expect(harness.send("GET", target, headers: headers).status == 200)
        #expect(harness.send("GET", target, headers: headers).code == "REPLAY_DETECTED")
    }
}

/// Where the callback sends the browser back: a relative `next` on the platform, never elsewhere.
@Suite struct CallbackNextTests {
    @Test(arguments: [
        ("/settings/vercel?tab=1", "https://platform.test/settings/vercel?tab=1"),
        ("https://evil.test/x", nil), ("//evil.test/x", nil), ("/\\evil.test", nil), ("/a b", nil), ("settings", nil),
    ])
    func onlyARelativePathOnThePlatformIsHonoured(next: String, page: String?) {
        #expect(OAuthCallback.platformPage(next, origin: "https://platform.test/connected") == page)
    }
}
