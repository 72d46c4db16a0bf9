import Foundation
import Kernel
import Logging
import Platform
import Postgres
import TestSupport
import Testing
import Vercel

/// The breaker kept in `vercel_connections.circuit_breaker_state`, driven by real 5xx from the
/// simulator, seen alike by clients on different database connections.
@Suite struct CircuitBreakerStorageTests {
    let database: TestDatabase
    let connectionID: UUID
    let breaker = CircuitBreaker(
        threshold: 5, baseCooldown: .seconds(1), maxCooldown: .seconds(8), probeTimeout: .seconds(5))

    init() throws {
        database = try TestDatabase.create()
        let db = database.connect()
        let user: UUID = try db.query("INSERT INTO users (email) VALUES ('breaker@example.com') RETURNING id")[0]
            .decode("id")
        connectionID = try db.query(
            "INSERT INTO vercel_connections (user_id, account_type, access_token_sealed) VALUES (\(user), 'personal', 'v1.k.iv.ct') RETURNING id"
        )[0].decode("id")
    }

    func client() throws -> (VercelClient, CircuitBreakers) {
        let store = CircuitBreakers(
            breaker: breaker, storage: PostgresCircuitBreakerStorage(database: database.connect()))
        let client = VercelClient(
            configuration: .init(
                apiBaseURL: try TestEnvironment.require("TEST_SIMULATOR_URL"), retry: RetryPolicy(maxAttempts: 1),
                breaker: breaker),
            transport: CurlTransport(), breakers: store, logger: Logger(label: "test"))
        return (client, store)
    }

    @Test func itOpensAfterExactlyFiveConsecutive5xxFailsFastHalfOpensAndCloses() async throws {
        defer { database.drop() }
        let account = try await SimulatorAccount.create()
        let credentials = VercelClient.Credentials(accessToken: account.token, connectionID: connectionID)
        let (first, store) = try client()
        let (second, otherStore) = try client()
        try await account.setFaults(["serverErrors": 100, "serverErrorStatus": 503])

        for call in 1...5 {
            #expect(try !store.state(of: connectionID).isOpen, "open before failure \(call)")
            #expect(throws: VercelError.self) { try first.user(credentials) }
        }
        #expect(try store.state(of: connectionID).isOpen)
        #expect(try otherStore.state(of: connectionID).isOpen)

        // Open: both clients fail fast, and Vercel is not called.
        for client in [first, second] {
            do {
                _ = try client.user(credentials)
                Issue.record("an open circuit let a call through")
            } catch {
                guard case .circuitOpen(let wait) = error else {
                    Issue.record("expected circuitOpen, got \(error)")
                    continue
                }
                #expect(wait > .zero && wait <= .seconds(1))
            }
        }
        #expect(try await account.requests()["GET /v2/user"] == 5)

        // After the cooldown one probe goes; it fails, so the circuit reopens for twice as long.
        try await Task.sleep(for: .milliseconds(1100))
        #expect(
            throws: VercelError.api(status: 503, code: "internal_server_error", message: "An unexpected error occurred")
        ) {
            try second.user(credentials)
        }
        let reopened = try store.state(of: connectionID)
        #expect(reopened.isOpen && reopened.trips == 2)
        #expect(abs((reopened.openUntil?.timeIntervalSinceNow ?? 0) - 2) < 0.5)
        #expect(try await account.requests()["GET /v2/user"] == 6)

        // Vercel recovers; the next probe succeeds and closes the circuit for everyone.
        try await account.setFaults([:])
        try await Task.sleep(for: .milliseconds(2100))
        #expect(try first.user(credentials).id == account.userID)
        #expect(try otherStore.state(of: connectionID) == .closed)
        #expect(try second.user(credentials).id == account.userID)
    }

    @Test func successesInBetweenKeepItClosed() async throws {
        defer { database.drop() }
        let account = try await SimulatorAccount.create()
        let credentials = VercelClient.Credentials(accessToken: account.token, connectionID: connectionID)
        let (client, store) = try client()
        for _ in 0..<3 {
            try await account.setFaults(["serverErrors": 4, "serverErrorStatus": 500])
            for _ in 0..<4 { #expect(throws: VercelError.self) { try client.user(credentials) } }
            #expect(try client.user(credentials).id == account.userID)
        }
        #expect(try store.state(of: connectionID) == .closed)
    }

    @Test func concurrentFailuresFromManyClientsAreAllCounted() async throws {
        defer { database.drop() }
        let account = try await SimulatorAccount.create()
        let connectionID = self.connectionID
        let breaker = CircuitBreaker(threshold: 40, baseCooldown: .seconds(30))
        let database = self.database
        try await account.setFaults(["serverErrors": 1000, "serverErrorStatus": 500])
        let url = try TestEnvironment.require("TEST_SIMULATOR_URL")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    let store = CircuitBreakers(
                        breaker: breaker, storage: PostgresCircuitBreakerStorage(database: database.connect()))
                    let client = VercelClient(
                        configuration: .init(apiBaseURL: url, retry: RetryPolicy(maxAttempts: 1), breaker: breaker),
                        transport: CurlTransport(), breakers: store, logger: Logger(label: "test"))
                    for _ in 0..<8 {
                        _ = try? client.user(
                            VercelClient.Credentials(accessToken: account.token, connectionID: connectionID))
                    }
                }
            }
            try await group.waitForAll()
        }
        let state = try CircuitBreakers(
            breaker: breaker, storage: PostgresCircuitBreakerStorage(database: database.connect())
        ).state(of: connectionID)
        #expect(state.consecutiveFailures == 32)
        #expect(!state.isOpen)
    }
}
