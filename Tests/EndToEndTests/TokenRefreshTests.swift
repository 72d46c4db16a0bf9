import Crypto
import Foundation
import Kernel
import Logging
import Platform
import Postgres
import TestSupport
import Testing
import Vercel

/// Token refresh through nginx and the refresh job: serialized per connection across processes,
/// two failures make the connection `error`, and what cannot expire is not refreshed.
@Suite(.serialized) struct TokenRefreshTests {
    let client: StackClient
    let fixtures = StackFixtures()
    let settings: [String: String]
    let oauth: VercelOAuth
    let store: ConnectionStore

    init() throws {
        client = try StackClient()
        settings = try TestEnvironment.stackConfiguration()
        // The same settings the functions read, through the same code.
        oauth = VercelOAuth(
            configuration: try VercelSettings.fromEnvironment(Environment(settings)).oauthConfiguration,
            transport: CurlTransport(),
            logger: Logger(label: "test"))
        store = ConnectionStore(
            database: fixtures.db, keyRing: try KeyRing(parsing: settings["TOKEN_ENCRYPTION_KEYS"]!))
    }

    /// An OAuth-app connection for a new platform user, with tokens the simulator issued.
    func appConnection(
        expiresIn seconds: TimeInterval, refreshToken bogus: String? = nil
    ) async throws -> (user: UUID, connection: UUID, account: SimulatorAccount) {
        let user = try fixtures.user()
        let account = try await SimulatorAccount.create()
        let vercel = VercelClient(
            configuration: .init(apiBaseURL: account.baseURL), transport: CurlTransport(), breakers: nil,
            logger: Logger(label: "t"))
        let me = try vercel.user(VercelClient.Credentials(accessToken: account.token))
        let verifier = try SecureRandom.token()
        let authorize =
            settings["VERCEL_OAUTH_AUTHORIZE_URL"]!
            + "?client_id=\(settings["VERCEL_OAUTH_CLIENT_ID"]!)&response_type=code"
            + "&redirect_uri=\(QueryEncoding.encode(settings["VERCEL_OAUTH_REDIRECT_URI"]!))&state=s&login_hint=\(me.username)"
            + "&code_challenge=\(Base64URL.encode(Digest.sha256(Array(verifier.utf8))))&code_challenge_method=S256"
        let location = try #require(
            try CurlTransport().send(HTTPRequest(method: "GET", url: authorize)).header("location"))
        let code = try #require(location.split(separator: "code=").last?.split(separator: "&").first.map(String.init))
        let pair = try oauth.exchangeAuthorizationCode(code, verifier: verifier)
        let connection = try store.save(
            .init(
                userID: user, teamID: nil, teamName: nil, vercelUserID: me.id, email: me.email, mode: "oauth_app",
                configurationID: nil,
                installationID: nil, accessToken: pair.accessToken, refreshToken: bogus ?? pair.refreshToken,
                expiresAt: Date().addingTimeInterval(seconds), scopes: ["read:user", "read:project"]))
        return (user, connection, account)
    }

    func tokenCalls(_ account: SimulatorAccount) async throws -> Int {
        let userID = account.userID
        let data = try await account.admin("GET", "/_sim/oauth/token-calls/\(userID)", nil)
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["calls"] as? Int ?? -1
    }

    func runRefreshJob() throws -> Process {
        let process = Process()
        process.executableURL = URL(
            fileURLWithPath: try TestEnvironment.require("TEST_BIN_DIR") + "/vercel-job-token-refresh")
        var environment = ProcessInfo.processInfo.environment
        environment.merge(settings) { $1 }
        process.environment = environment
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    @Test func twentyConcurrentRefreshesFromTwoProcessesSpendTheRefreshTokenOnce() async throws {
        let (user, connection, account) = try await appConnection(expiresIn: 60)
        #expect(try await tokenCalls(account) == 1)
        let jobs = try [runRefreshJob(), runRefreshJob()]
        let client = self.client
        let healthy = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    let reply = try await client.signed(
                        "POST", "/v1/internal/vercel/oauth/test-connection", json: #"{"userId":"\#(user)"}"#)
                    return reply.status == 200 && reply.json?["healthy"] as? Bool == true
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        for job in jobs { job.waitUntilExit() }
        #expect(healthy.count == 20 && healthy.allSatisfy { $0 })
        #expect(try await tokenCalls(account) == 2)
        let expires: Date = try fixtures.db.query(
            "SELECT token_expires_at FROM vercel_connections WHERE id = \(connection)")[0].decode("token_expires_at")
        #expect(expires.timeIntervalSinceNow > 3000)
    }

    @Test func theJobRefreshesWhatExpiresSoonAndLeavesTheRest() async throws {
        let (_, soon, soonAccount) = try await appConnection(expiresIn: 300)
        let (_, later, laterAccount) = try await appConnection(expiresIn: 7200)
        let job = try runRefreshJob()
        job.waitUntilExit()
        #expect(job.terminationStatus == 0)
        #expect(try await tokenCalls(soonAccount) == 2)
        #expect(try await tokenCalls(laterAccount) == 1)
        let rows = try fixtures.db.query(
            "SELECT id, token_expires_at FROM vercel_connections WHERE id IN (\(soon), \(later))")
        for row in rows {
            let expires: Date = try row.decode("token_expires_at")
            #expect(expires.timeIntervalSinceNow > 3000)
        }
    }

    @Test func theJobMarksAConnectionErrorAfterTwoFailedRefreshesAndThenLeavesIt() async throws {
        let (_, connection, _) = try await appConnection(expiresIn: 120, refreshToken: "vcr_rejected-by-vercel-0000")
        for _ in 0..<3 {
            let job = try runRefreshJob()
            job.waitUntilExit()
            #expect(job.terminationStatus == 0)
        }
        let row = try fixtures.db.query(
            "SELECT status::text AS status, refresh_failures FROM vercel_connections WHERE id = \(connection)")[0]
        #expect(row["status"] == "error" && row["refresh_failures"] == "2")
    }

    @Test func twoFailedRefreshesMarkTheConnectionErrorAuditAndQueueAnAlert() async throws {
        let (user, connection, _) = try await appConnection(
            expiresIn: 3600, refreshToken: "vcr_not-a-refresh-token-0000")
        var requestIDs: [String] = []
        for _ in 0..<2 {
            let reply = try await client.signed(
                "POST", "/v1/internal/vercel/oauth/refresh", json: #"{"userId":"\#(user)"}"#)
            #expect(reply.status == 422 && reply.json?["vercelCode"] as? String == "invalid_grant")
            requestIDs.append(try #require(reply.header("x-request-id")))
        }
        // The token service logs on the worker's logger; the line still names the request it served.
        let marker = #""connection.id":"\#(connection)""#
        let logs = try await StackFixtures.logs {
            $0.split(separator: "\n").filter { $0.contains("vercel token refresh failed") && $0.contains(marker) }
                .count >= 2
        }
        let lines = logs.split(separator: "\n").filter {
            $0.contains("vercel token refresh failed") && $0.contains(marker)
        }
        for id in requestIDs {
            #expect(lines.contains { $0.contains(#""request.id":"\#(id)""#) }, "\(lines)")
        }
        let row = try fixtures.db.query(
            "SELECT status::text AS status, refresh_failures FROM vercel_connections WHERE id = \(connection)")[0]
        #expect(row["status"] == "error" && row["refresh_failures"] == "2")
        let audit = try fixtures.db.query(
            "SELECT count(*) AS n FROM vercel_security_audit_log WHERE action = 'VERCEL_REFRESH_FAILED' AND connection_id = \(connection)"
        )
        #expect(audit[0]["n"] == "1")
        let traced = try fixtures.db.query(
            "SELECT correlation_id FROM vercel_security_audit_log WHERE action = 'VERCEL_REFRESH_FAILED' AND connection_id = \(connection)"
        )
        #expect(traced.first?["correlation_id"] == requestIDs.last, "the audit row names the request that wrote it")
        let alerts = try fixtures.db.query(
            """
            SELECT payload->>'type' AS type, (payload->>'body')::jsonb->>'userId' AS user_id FROM vercel_jobs
            WHERE kind = 'alert' AND dedup_key IN (\("refresh_failed:\(connection.uuidString.lowercased())"),
              \("reconnect:\(connection.uuidString.lowercased())"))
            ORDER BY id
            """)
        #expect(alerts.map { $0["type"] } == ["connection.refresh_failed", "connection.reconnect_required"])
        #expect(alerts.allSatisfy { $0["user_id"] != nil })
    }

    @Test func aTokenThatCannotExpireIsNotRefreshedAndADisconnectedUserMustReconnect() async throws {
        let (user, connection, _) = try await appConnection(expiresIn: 3600)
        try fixtures.db.execute(
            "UPDATE vercel_connections SET refresh_token_sealed = NULL, token_expires_at = NULL WHERE id = \(connection)"
        )
        let refresh = try await client.signed(
            "POST", "/v1/internal/vercel/oauth/refresh", json: #"{"userId":"\#(user)"}"#)
        #expect(refresh.status == 400 && refresh.code == "REFRESH_NOT_SUPPORTED")
        let healthy = try await client.signed(
            "POST", "/v1/internal/vercel/oauth/test-connection", json: #"{"userId":"\#(user)"}"#)
        #expect(healthy.json?["healthy"] as? Bool == true)
        #expect((healthy.json?["missingScopes"] as? [String])?.contains("read-write:project-env-vars") == true)

        _ = try await client.signed("POST", "/v1/internal/vercel/oauth/disconnect", json: #"{"userId":"\#(user)"}"#)
        let after = try await client.signed(
            "POST", "/v1/internal/vercel/oauth/test-connection", json: #"{"userId":"\#(user)"}"#)
        #expect(after.status == 401 && after.code == "AUTH_REQUIRED" && after.json?["action"] as? String == "RECONNECT")
    }
}

enum QueryEncoding {
    static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
    }
}
