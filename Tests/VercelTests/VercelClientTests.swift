import Foundation
import Kernel
import Logging
import Postgres
import TestSupport
import Testing
import Vercel

/// The client against the simulator, through nginx, with libcurl underneath.
@Suite struct VercelClientTests {
    static func client(
        retry: RetryPolicy = RetryPolicy(baseDelay: .milliseconds(20)), breakers: CircuitBreakers? = nil
    ) throws -> VercelClient {
        VercelClient(
            configuration: .init(apiBaseURL: try TestEnvironment.require("TEST_SIMULATOR_URL"), retry: retry),
            transport: CurlTransport(), breakers: breakers, logger: Logger(label: "test"))
    }

    @Test func theUserTeamsAndProjectsRoundTrip() async throws {
        let account = try await SimulatorAccount.create(teams: ["acme"])
        let client = try Self.client()
        let personal = VercelClient.Credentials(accessToken: account.token)
        #expect(try client.user(personal).id == account.userID)
        #expect(try client.teams(personal).map(\.slug) == ["acme"])

        let created = try client.createProject(
            VercelProjectSettings(name: "web-app", framework: "nextjs", buildCommand: "next build"), personal)
        #expect(created.name == "web-app" && created.framework == "nextjs" && created.buildCommand == "next build")
        #expect(try client.project(created.id, personal) == created)
        #expect(try client.project("web-app", personal).id == created.id)

        let updated = try client.updateProject(
            created.id, VercelProjectSettings(outputDirectory: "out", nodeVersion: "22.x"), personal)
        #expect(
            updated.outputDirectory == "out" && updated.nodeVersion == "22.x" && updated.buildCommand == "next build")

        // Team resources need ?teamId=; the personal project is not the team's.
        let team = VercelClient.Credentials(accessToken: account.token, teamID: account.teamIDs[0])
        let teamProject = try client.createProject(VercelProjectSettings(name: "team-app"), team)
        #expect(teamProject.accountId == account.teamIDs[0])
        #expect(try client.projects(team).items.map(\.id) == [teamProject.id])
        #expect(throws: VercelError.api(status: 404, code: "not_found", message: "Project not found")) {
            try client.project(created.id, team)
        }
    }

    @Test func paginationOver250ProjectsYieldsEachExactlyOnce() async throws {
        let account = try await SimulatorAccount.create()
        let client = try Self.client()
        let credentials = VercelClient.Credentials(accessToken: account.token)
        var created: Set<String> = []
        for index in 0..<250 {
            created.insert(try client.createProject(VercelProjectSettings(name: "project-\(index)"), credentials).id)
        }
        var seen: [String] = []
        var cursor: VercelCursor? = nil
        var pages = 0
        repeat {
            let page = try client.projects(credentials, limit: 40, until: cursor)
            seen += page.items.map(\.id)
            cursor = page.next
            pages += 1
        } while cursor != nil && pages < 20
        #expect(pages == 7)
        #expect(seen.count == 250)
        #expect(Set(seen) == created)
    }

    @Test func vercelsErrorCodeAndMessageReachTheCallerAndTheTokenNever() async throws {
        let account = try await SimulatorAccount.create()
        let client = try Self.client()
        let credentials = VercelClient.Credentials(accessToken: account.token)
        _ = try client.createProject(VercelProjectSettings(name: "taken"), credentials)
        #expect(throws: VercelError.api(status: 409, code: "conflict", message: "Project already exists")) {
            try client.createProject(VercelProjectSettings(name: "taken"), credentials)
        }
        let forged = VercelClient.Credentials(accessToken: "vca_not-a-real-token-0000")
        do {
            _ = try client.user(forged)
            Issue.record("a forged token was accepted")
        } catch {
            #expect(error == .unauthorized(status: 403, message: "Not authorized"))
            #expect(!"\(error)".contains("vca_not-a-real-token-0000"))
        }
    }

    @Test func a429WithRetryAfter2IsRetriedNoSoonerThan2SecondsLater() async throws {
        let account = try await SimulatorAccount.create()
        try await account.setFaults(["rateLimited": 1, "retryAfterSeconds": 2])
        let client = try Self.client()
        let started = Date()
        let user = try client.user(VercelClient.Credentials(accessToken: account.token))
        let elapsed = Date().timeIntervalSince(started)
        #expect(user.id == account.userID)
        #expect(elapsed >= 2.0)
        #expect(elapsed < 4.0)
        #expect(try await account.requests()["GET /v2/user"] == 2)
    }

    @Test func aRateLimitLongerThanWorthWaitingIsReportedWithItsRetryAfter() async throws {
        let account = try await SimulatorAccount.create()
        try await account.setFaults(["rateLimited": 1, "retryAfterSeconds": 90])
        let client = try Self.client()
        #expect(throws: VercelError.rateLimited(retryAfter: .seconds(90))) {
            try client.user(VercelClient.Credentials(accessToken: account.token))
        }
    }

    @Test func idempotentCallsRetry5xxAndCreatesDoNot() async throws {
        let account = try await SimulatorAccount.create()
        let client = try Self.client()
        let credentials = VercelClient.Credentials(accessToken: account.token)
        try await account.setFaults(["serverErrors": 2, "serverErrorStatus": 502])
        #expect(try client.user(credentials).id == account.userID)
        #expect(try await account.requests()["GET /v2/user"] == 3)

        try await account.setFaults(["serverErrors": 1, "serverErrorStatus": 500])
        #expect(
            throws: VercelError.api(status: 500, code: "internal_server_error", message: "An unexpected error occurred")
        ) {
            try client.createProject(VercelProjectSettings(name: "once"), credentials)
        }
        #expect(try await account.requests()["POST /v11/projects"] == 1)
    }

    @Test func aTimeoutIsReportedAsUnreachable() async throws {
        let account = try await SimulatorAccount.create()
        try await account.setFaults(["latencyMs": 1500])
        let client = VercelClient(
            configuration: .init(
                apiBaseURL: try TestEnvironment.require("TEST_SIMULATOR_URL"), retry: RetryPolicy(maxAttempts: 1),
                totalTimeout: .milliseconds(300)),
            transport: CurlTransport(), breakers: nil, logger: Logger(label: "test"))
        #expect(throws: VercelError.unreachable(.timedOut)) {
            try client.user(VercelClient.Credentials(accessToken: account.token))
        }
    }

    @Test func aForbiddenTokenIsNotMistakenForAnExpiredOne() async throws {
        let account = try await SimulatorAccount.create()
        let client = try Self.client()
        let refreshes = RefreshCounter()
        let credentials = VercelClient.Credentials(accessToken: "vca_expired") {
            refreshes.increment()
            return account.token
        }
        // Vercel answers a token it does not know 403 `invalidToken`: only a 401 refreshes.
        #expect(throws: VercelError.unauthorized(status: 403, message: "Not authorized")) {
            try client.user(credentials)
        }
        #expect(refreshes.count == 0)
    }
}

final class RefreshCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func increment() { lock.withLock { value += 1 } }
    var count: Int { lock.withLock { value } }
}
