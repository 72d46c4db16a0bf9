import Foundation
import Kernel
import TestSupport
import Testing
import Vercel

/// The foundation through the real path: nginx → FastCGI → handler → Postgres.
@Suite(.serialized) struct PlatformRoutesTests {
    static let groups = ["oauth", "webhooks", "deployments", "env", "domains", "breakglass", "optimization"]
    let client: StackClient
    let fixtures = StackFixtures()

    init() throws {
        client = try StackClient()
    }

    /// One signed route of each group, for a user who owns `project`.
    static func routes(project: UUID, user: UUID) -> [(group: String, method: String, target: String, body: String?)] {
        let p = "/v1/projects/\(project)/vercel"
        let body = #"{"userId":"\#(user)"}"#
        return [
            ("oauth", "GET", "/v1/internal/vercel/oauth/status?userId=\(user)", nil),
            ("deployments", "POST", "\(p)/deploy", body),
            ("deployments", "GET", "\(p)/deployments?userId=\(user)&limit=5", nil),
            ("deployments", "GET", "\(p)/auto-deploy/config?userId=\(user)", nil),
            ("env", "GET", "\(p)/env?userId=\(user)", nil),
            ("env", "DELETE", "\(p)/env/API_KEY?userId=\(user)", nil),
            ("domains", "GET", "\(p)/domains?userId=\(user)", nil),
            ("optimization", "GET", "\(p)/optimization/recommendations?userId=\(user)", nil),
            ("breakglass", "GET", "/v1/admin/vercel/breakglass/requests?userId=\(user)", nil),
        ]
    }

    @Test func everyGroupAnswersItsHealthCheckThroughNginx() async throws {
        for group in Self.groups {
            let reply = try await client.send("GET", "/healthz/\(group)")
            #expect(reply.status == 200, "\(group)")
            #expect(reply.json?["group"] as? String == group)
            #expect(reply.json?["database"] as? String == "ok")
        }
    }

    @Test func unsignedCallsToEveryPlatformRouteAre401() async throws {
        let user = try fixtures.user(role: "admin")
        let project = try fixtures.project(owner: user)
        for route in Self.routes(project: project, user: user) {
            let reply = try await client.send(route.method, route.target, body: route.body.map { Data($0.utf8) })
            #expect(reply.status == 401, "\(route.method) \(route.target)")
            #expect(reply.code == "MISSING_SIGNATURE")
        }
    }

    @Test func signedCallsReachTheHandlerOfEveryGroup() async throws {
        let admin = try fixtures.user(role: "admin")
        let project = try fixtures.project(owner: admin)
        for route in Self.routes(project: project, user: admin) {
            let reply = try await client.signed(route.method, route.target, json: route.body)
            if route.group == "oauth" {
                #expect(reply.status == 200)
                #expect(reply.json?["connected"] as? Bool == false)
                #expect(reply.text.contains(#""connection":null"#))
            } else if route.target.hasSuffix("/deploy") {
                #expect(
                    reply.status == 400 && reply.code == "INVALID_JSON" && reply.text.contains("deploymentType"),
                    "\(reply.text)")
            } else if route.group == "optimization" {
                #expect(reply.status == 200 && reply.json?["recommendations"] is [Any], "\(reply.text)")
            } else if route.target.contains("/env?") {
                #expect(reply.status == 200 && (reply.json?["variables"] as? [Any])?.isEmpty == true, "\(reply.text)")
            } else if route.target.contains("/env/") {
                #expect(reply.status == 404 && reply.code == "VARIABLE_NOT_FOUND", "\(reply.text)")
            } else if route.group == "breakglass" {
                #expect(reply.status == 200 && reply.json?["requests"] is [Any], "\(reply.text)")
            } else if route.target.contains("/domains?") {
                // The project is not linked: the domains handler says so.
                #expect(reply.status == 404 && reply.code == "PROJECT_NOT_LINKED", "\(reply.text)")
            } else if route.target.contains("/deployments?") {
                #expect(reply.status == 200 && (reply.json?["deployments"] as? [Any])?.isEmpty == true, "\(reply.text)")
            } else {
                // Past the signature, the nonce, the user and the ownership check: the handler
                // answered (the auto-deploy settings of a project that is not linked).
                #expect(
                    reply.status == 404 && reply.code == "PROJECT_NOT_LINKED",
                    "\(route.method) \(route.target): \(reply.text)")
            }
        }
    }

    @Test func adminRoutesRefuseUsersWithoutTheAdminRole() async throws {
        let user = try fixtures.user()
        let reply = try await client.signed("GET", "/v1/admin/vercel/breakglass/requests?userId=\(user)")
        #expect(reply.status == 403)
        #expect(reply.code == "ADMIN_REQUIRED")
    }

    @Test func anotherUsersProjectIsIndistinguishableFromAMissingOne() async throws {
        let owner = try fixtures.user()
        let intruder = try fixtures.user()
        let project = try fixtures.project(owner: owner)
        for route in Self.routes(project: project, user: intruder) where route.target.contains("/v1/projects/") {
            let foreign = try await client.signed(route.method, route.target, json: route.body)
            let missingTarget = route.target.replacingOccurrences(
                of: project.uuidString.lowercased(), with: UUID().uuidString
            )
            .replacingOccurrences(of: project.uuidString, with: UUID().uuidString)
            let missing = try await client.signed(route.method, missingTarget, json: route.body)
            #expect(foreign.status == 404, "\(route.target)")
            #expect(foreign.code == "PROJECT_NOT_FOUND")
            #expect(foreign.body == missing.body)
        }
    }

    @Test func unknownAndMalformedUsersAreRefused() async throws {
        let unknown = try await client.signed("GET", "/v1/internal/vercel/oauth/status?userId=\(UUID())")
        #expect(unknown.status == 404 && unknown.code == "USER_NOT_FOUND")
        let malformed = try await client.signed("GET", "/v1/internal/vercel/oauth/status?userId=nope")
        #expect(malformed.status == 400 && malformed.code == "INVALID_USER_ID")
        let absent = try await client.signed("GET", "/v1/internal/vercel/oauth/status")
        #expect(absent.status == 400 && absent.code == "USER_ID_REQUIRED")
    }

    @Test func badSignaturesStaleTimestampsAndReplaysAreRefused() async throws {
        let user = try fixtures.user()
        let target = "/v1/internal/vercel/oauth/status?userId=\(user)"

        let wrongSecret = client.signatureHeaders("GET", target, secret: "another-secret-of-sufficient-length-000")
        let forged = try await client.send("GET", target, headers: wrongSecret)
        #expect(forged.status == 403 && forged.code == "INVALID_SIGNATURE")

        let stale = client.signatureHeaders("GET", target, timestamp: Int64(Date().timeIntervalSince1970) - 121)
        let old = try await client.send("GET", target, headers: stale)
        #expect(old.status == 401 && old.code == "TIMESTAMP_OUT_OF_RANGE")

        let headers = client.signatureHeaders("GET", target)
        let first = try await client.send("GET", target, headers: headers)
        #expect(first.status == 200)
        let replay = try await client.send("GET", target, headers: headers)
        #expect(replay.status == 409 && replay.code == "REPLAY_DETECTED")
    }

    @Test func aBodyChangedByOneByteFailsTheSignature() async throws {
        let user = try fixtures.user()
        let project = try fixtures.project(owner: user)
        let target = "/v1/projects/\(project)/vercel/deploy"
        let body = Data(#"{"userId":"\#(user)","deploymentType":"preview"}"#.utf8)
        var headers = client.signatureHeaders("POST", target, body: body)
        headers["content-type"] = "application/json"
        var changed = body
        changed[changed.count - 3] ^= 0x01
        let reply = try await client.send("POST", target, body: changed, headers: headers)
        #expect(reply.status == 403 && reply.code == "INVALID_SIGNATURE")
    }

    @Test func queryParametersMaySignInAnyOrderTheyAreSent() async throws {
        let user = try fixtures.user()
        let reply = try await client.signed("GET", "/v1/internal/vercel/oauth/status?zeta=1&userId=\(user)&alpha=a%2Bb")
        #expect(reply.status == 200, "\(reply.text)")
    }

    @Test func concurrentReplaysOfOneNonceAreAcceptedExactlyOnce() async throws {
        let user = try fixtures.user()
        let target = "/v1/internal/vercel/oauth/status?userId=\(user)"
        let headers = client.signatureHeaders("GET", target)
        let client = self.client
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<12 { group.addTask { try await client.send("GET", target, headers: headers).status } }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses.filter { $0 == 200 }.count == 1)
        #expect(statuses.filter { $0 == 409 }.count == 11)
    }

    @Test func unknownPathsWrongMethodsAndLargeBodiesGetJSONErrors() async throws {
        let missing = try await client.send("GET", "/v1/nothing/here")
        #expect(missing.status == 404 && missing.code == "ROUTE_NOT_FOUND")
        #expect(missing.header("x-request-id") != nil)

        let wrong = try await client.send("PATCH", "/v1/internal/vercel/oauth/status")
        #expect(wrong.status == 405 && wrong.code == "METHOD_NOT_ALLOWED")
        #expect(wrong.header("allow") == "GET")

        let user = try fixtures.user()
        let project = try fixtures.project(owner: user)
        let overLimit = Data(repeating: UInt8(ascii: " "), count: (1 << 20) + 1)
        let byApplication = try await client.send("POST", "/v1/projects/\(project)/vercel/deploy", body: overLimit)
        #expect(byApplication.status == 413 && byApplication.code == "PAYLOAD_TOO_LARGE")
        #expect(byApplication.json?["limitBytes"] as? Int == 1 << 20)

        let huge = Data(repeating: UInt8(ascii: " "), count: 3 << 20)
        let byNginx = try await client.send("POST", "/v1/projects/\(project)/vercel/deploy", body: huge)
        #expect(byNginx.status == 413 && byNginx.code == "PAYLOAD_TOO_LARGE")
    }

    @Test func everyResponseCarriesTheCorrelationIDWhichEveryLogLineOfTheRequestHas() async throws {
        let mine = "platform-\(UUID().uuidString)"
        let echoed = try await client.send("GET", "/healthz/env", headers: ["X-Request-ID": mine])
        #expect(echoed.header("x-request-id") == mine)

        let made = try await client.send("GET", "/healthz/env")
        let id = try #require(made.header("x-request-id"))
        #expect(id.count == 32 && id.allSatisfy(\.isHexDigit))

        let malformed = try await client.send("GET", "/healthz/env", headers: ["X-Request-ID": "bad id \u{7f}"])
        #expect(malformed.header("x-request-id").map { $0.count == 32 && $0.allSatisfy(\.isHexDigit) } == true)

        let failing = "platform-\(UUID().uuidString)"
        let failed = try await client.send("GET", "/healthz/env/fault/throw", headers: ["X-Request-ID": failing])
        #expect(failed.json?["requestId"] as? String == failing)

        let logs = try await StackFixtures.logs { logs in
            logs.contains(mine)
                && logs.split(separator: "\n").contains { $0.contains(failing) && $0.contains("request failed") }
        }
        let lines = logs.split(separator: "\n").filter { $0.hasPrefix("{") }
        func records(with id: String) throws -> [[String: Any]] {
            try lines.filter { $0.contains(id) }.compactMap {
                try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
        }
        // nginx's access log has every request with its id.
        let access = try records(with: mine)
        #expect(access.count == 1)
        #expect(access.first?["request.id"] as? String == mine)
        #expect(access.first?["http.status"] as? Int == 200)
        // The function's own lines for a request carry its id and group.
        let failure = try records(with: failing)
        #expect(failure.contains { $0["message"] as? String == "request failed" && $0["group"] as? String == "env" })
        #expect(failure.allSatisfy { $0["request.id"] as? String == failing })
    }

    @Test func aThrowingHandlerIsA500WithTheCorrelationID() async throws {
        let reply = try await client.send("GET", "/healthz/domains/fault/throw")
        #expect(reply.status == 500 && reply.code == "INTERNAL_ERROR")
        #expect(reply.json?["requestId"] as? String == reply.header("x-request-id"))
    }

    @Test func aTrappingHandlerIsA500AndTheProcessKeepsServing() async throws {
        let pid = try StackFixtures.pid(of: "optimization")
        // More traps than the group has workers: each parks one worker, which is replaced.
        for _ in 0..<6 {
            let reply = try await client.send("GET", "/healthz/optimization/fault/trap")
            #expect(reply.status == 500 && reply.code == "INTERNAL_ERROR")
            #expect(reply.json?["requestId"] as? String == reply.header("x-request-id"))
        }
        for _ in 0..<8 {
            let health = try await client.send("GET", "/healthz/optimization")
            #expect(health.status == 200)
        }
        #expect(kill(pid, 0) == 0)
        #expect(try StackFixtures.pid(of: "optimization") == pid)
    }

    @Test func noSecretOfTheStackNorAnyQueryStringAppearsInAnyLog() async throws {
        let code = "code-\(UUID().uuidString)"
        let callback = try CurlTransport().send(
            HTTPRequest(method: "GET", url: client.baseURL + "/v1/internal/vercel/oauth/callback?code=\(code)&state=s"))
        #expect(callback.status == 302 && callback.header("location")?.hasSuffix("error=STATE_INVALID") == true)
        let configuration = try TestEnvironment.stackConfiguration()
        let logs = try await StackFixtures.logs { $0.contains("/v1/internal/vercel/oauth/callback") }
        #expect(logs.contains("/v1/internal/vercel/oauth/callback"))
        #expect(!logs.contains(code), "a query string reached a log")
        #expect(!logs.isEmpty)
        for name in [
            "SHEEN_HMAC_SECRET", "TOKEN_ENCRYPTION_KEYS", "VERCEL_OAUTH_CLIENT_SECRET", "VERCEL_WEBHOOK_SECRETS",
        ] {
            let value = try #require(configuration[name])
            for secret in value.split(separator: ",") {
                let material = String(secret.split(separator: ":").last ?? "")
                #expect(!logs.contains(String(secret)) && !logs.contains(material), "\(name) leaked into a log")
            }
        }
    }
}

/// A path parameter may hold an encoded `/` through nginx too.
@Suite struct EncodedSlashRouteTests {
    @Test func anAutoDeployRulePatternWithASlashReachesItsHandler() async throws {
        let client = try StackClient()
        let fixtures = StackFixtures()
        let user = try fixtures.user()
        let project = try fixtures.project(owner: user)
        let reply = try await client.signed(
            "DELETE", "/v1/projects/\(project)/vercel/auto-deploy/rules/feature%2F%2A?userId=\(user)")
        // The route's handler answers (the project is not linked), not the router's 404; the
        // pattern reaching the handler whole is shown by GitAutoDeployTests removing `release/**`.
        #expect(reply.status == 404 && reply.code == "PROJECT_NOT_LINKED", "\(reply.status) \(reply.text)")
    }
}
