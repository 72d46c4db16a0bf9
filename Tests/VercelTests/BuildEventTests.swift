import Foundation
import Kernel
import Logging
import TestSupport
import Testing
import Vercel

/// `GET /v3/deployments/{id}/events` through the client's stream and the simulator's clock.
@Suite struct BuildEventTests {
    static func setUp(
        buildMs: Int, failBuilds: Int = 0
    ) async throws -> (SimulatorAccount, VercelClient, VercelClient.Credentials, VercelDeployment) {
        let account = try await SimulatorAccount.create()
        try await account.setFaults(["buildMs": buildMs, "failBuilds": failBuilds])
        let client = VercelClient(
            configuration: .init(apiBaseURL: try TestEnvironment.require("TEST_SIMULATOR_URL")),
            transport: CurlTransport(),
            breakers: nil, logger: Logger(label: "test"))
        let credentials = VercelClient.Credentials(accessToken: account.token)
        let deployment = try client.createDeployment(
            VercelDeploymentRequest(
                name: "events", gitSource: .github(org: "acme", repo: "events", ref: "main", sha: nil)), credentials)
        return (account, client, credentials, deployment)
    }

    @Test func followedEventsArriveInOrderAsTheyHappenAndEndAtReady() async throws {
        let (_, client, credentials, deployment) = try await Self.setUp(buildMs: 1200)
        let start = Date()
        var events: [(VercelBuildEvent, TimeInterval)] = []
        try client.buildEvents(deploymentID: deployment.id, follow: true, credentials) { event in
            events.append((event, Date().timeIntervalSince(start)))
            return true
        }
        #expect(
            events.map(\.0.type) == [
                "deployment-state", "command", "stdout", "stdout", "stdout", "alias-assigned", "deployment-state",
            ])
        #expect(events.first?.0.readyState == "QUEUED" && events.last?.0.readyState == "READY")
        #expect(events.compactMap(\.0.created) == events.compactMap(\.0.created).sorted())
        #expect(events[0].1 < 0.5, "the first event waited")
        #expect(events.last!.1 >= 1.0)
        #expect(try client.deployment(deployment.id, credentials).readyState == "READY")
    }

    @Test func aFailedBuildEndsWithItsErrorExitAndState() async throws {
        let (_, client, credentials, deployment) = try await Self.setUp(buildMs: 300, failBuilds: 1)
        var events: [VercelBuildEvent] = []
        try client.buildEvents(deploymentID: deployment.id, follow: true, credentials) {
            events.append($0)
            return true
        }
        #expect(events.suffix(3).map(\.type) == ["stderr", "exit", "deployment-state"])
        #expect(events.last?.readyState == "ERROR")
    }

    @Test func aCancelEndsTheStreamAtCanceledAndStoppingEarlyWorks() async throws {
        let (_, client, credentials, deployment) = try await Self.setUp(buildMs: 60_000)
        var seen = 0
        try client.buildEvents(deploymentID: deployment.id, follow: true, credentials) { _ in
            seen += 1
            return false
        }
        #expect(seen == 1)
        let token = credentials.accessToken
        let cancel = Task.detached {
            try await Task.sleep(for: .milliseconds(300))
            let credentials = VercelClient.Credentials(accessToken: token)
            let other = VercelClient(
                configuration: .init(apiBaseURL: try TestEnvironment.require("TEST_SIMULATOR_URL")),
                transport: CurlTransport(),
                breakers: nil, logger: Logger(label: "test"))
            _ = try other.cancelDeployment(deployment.id, credentials)
        }
        var states: [String] = []
        try client.buildEvents(deploymentID: deployment.id, follow: true, credentials) { event in
            if let state = event.readyState { states.append(state) }
            return true
        }
        try await cancel.value
        #expect(states == ["QUEUED", "CANCELED"])
    }

    @Test func withoutFollowTheEventsSoFarComeAtOnce() async throws {
        let (_, client, credentials, deployment) = try await Self.setUp(buildMs: 60_000)
        var events: [VercelBuildEvent] = []
        try client.buildEvents(deploymentID: deployment.id, follow: false, credentials) {
            events.append($0)
            return true
        }
        #expect(events.map(\.type) == ["deployment-state"])
        #expect(throws: VercelError.api(status: 404, code: "not_found", message: "The deployment was not found")) {
            try client.buildEvents(deploymentID: "dpl_missing", follow: true, credentials) { _ in true }
        }
    }
}
