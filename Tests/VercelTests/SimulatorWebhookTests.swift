import Crypto
import Foundation
import Kernel
import Logging
import TestSupport
import Testing
import Vercel

/// The simulator's webhooks: the events Vercel sends for a deployment, signed as Vercel signs them,
/// and the knobs that drop, duplicate and reorder them. They are received by the simulator's inbox.
@Suite struct SimulatorWebhookTests {
    struct Received: Decodable {
        let signature: String?
        let body: String
    }

    struct Envelope: Decodable {
        let type: String
        let id: String
        let createdAt: Int64
        let payload: Payload

        struct Payload: Decodable {
            let deployment: Deployment
            let project: Project
            let target: String?
            let alias: [String]?
        }
        struct Deployment: Decodable {
            let id: String
            let url: String
            let name: String
        }
        struct Project: Decodable { let id: String }
    }

    static func setUp(
        _ knobs: [String: Any] = [:], buildMs: Int = 150
    ) async throws -> (SimulatorAccount, VercelClient, VercelClient.Credentials, String, String) {
        let account = try await SimulatorAccount.create()
        try await account.setFaults(["buildMs": buildMs])
        let inbox = "inbox-\(UUID().uuidString.prefix(8))"
        let secret = "whsec-\(UUID().uuidString)"
        var settings: [String: Any] = ["url": account.baseURL + "/_sim/inbox/\(inbox)", "secret": secret]
        settings.merge(knobs) { $1 }
        try await account.admin("PUT", "/_sim/webhooks", settings)
        let client = VercelClient(
            configuration: .init(apiBaseURL: account.baseURL), transport: CurlTransport(), breakers: nil,
            logger: Logger(label: "test"))
        return (account, client, VercelClient.Credentials(accessToken: account.token), inbox, secret)
    }

    /// Waits until `count` deliveries arrived, and checks each signature with the secret.
    static func received(
        _ account: SimulatorAccount, _ inbox: String, _ secret: String, count: Int
    ) async throws -> [Envelope] {
        var items: [Received] = []
        for _ in 0..<150 {
            items = try JSONDecoder().decode(
                [Received].self, from: try await account.admin("GET", "/_sim/inbox/\(inbox)", nil))
            if items.count >= count { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        for item in items {
            let expected = Hex.encode(HMAC.sha1(key: Array(secret.utf8), message: Array(item.body.utf8)))
            #expect(item.signature == expected, "a webhook's signature does not match its raw body")
        }
        return try items.map { try JSONDecoder().decode(Envelope.self, from: Data($0.body.utf8)) }
    }

    @Test func aDeploymentSendsCreatedThenSucceededAndReadySigned() async throws {
        let (account, client, credentials, inbox, secret) = try await Self.setUp()
        let deployment = try client.createDeployment(
            VercelDeploymentRequest(
                name: "hooked", target: "production",
                gitSource: .github(org: "a", repo: "hooked", ref: "main", sha: nil)), credentials)
        let events = try await Self.received(account, inbox, secret, count: 3)
        #expect(events.map(\.type) == ["deployment.created", "deployment.succeeded", "deployment.ready"])
        #expect(
            events.allSatisfy {
                $0.payload.deployment.id == deployment.id && $0.payload.project.id == deployment.projectId
            })
        #expect(events.first?.payload.alias == ["hooked.vercel.app"] && events.first?.payload.target == "production")
        #expect(Set(events.map(\.id)).count == 3)
        #expect(events[1].createdAt - events[0].createdAt == 150)
    }

    @Test func aCanceledDeploymentSendsCanceledAndNeverReady() async throws {
        let (account, client, credentials, inbox, secret) = try await Self.setUp(buildMs: 1500)
        let deployment = try client.createDeployment(
            VercelDeploymentRequest(name: "stopped", gitSource: .github(org: "a", repo: "s", ref: "main", sha: nil)),
            credentials)
        _ = try client.cancelDeployment(deployment.id, credentials)
        try await Task.sleep(for: .milliseconds(1700))
        let events = try await Self.received(account, inbox, secret, count: 2)
        #expect(events.map(\.type) == ["deployment.created", "deployment.canceled"])
    }

    @Test func knobsDropDuplicateAndReorderDeliveries() async throws {
        let (dropped, client, credentials, droppedInbox, droppedSecret) = try await Self.setUp(["drop": 1])
        _ = try client.createDeployment(
            VercelDeploymentRequest(name: "d", gitSource: .github(org: "a", repo: "d", ref: "main", sha: nil)),
            credentials)
        try await Task.sleep(for: .milliseconds(400))
        #expect(
            try await Self.received(dropped, droppedInbox, droppedSecret, count: 2).map(\.type) == [
                "deployment.succeeded", "deployment.ready",
            ])

        let (doubled, doubleClient, doubleCredentials, doubledInbox, doubledSecret) = try await Self.setUp([
            "duplicate": 1
        ])
        _ = try doubleClient.createDeployment(
            VercelDeploymentRequest(name: "u", gitSource: .github(org: "a", repo: "u", ref: "main", sha: nil)),
            doubleCredentials)
        let twice = try await Self.received(doubled, doubledInbox, doubledSecret, count: 4)
        #expect(
            twice.map(\.type) == [
                "deployment.created", "deployment.created", "deployment.succeeded", "deployment.ready",
            ])
        #expect(twice[0].id == twice[1].id)

        let (shuffled, shuffleClient, shuffleCredentials, shuffledInbox, shuffledSecret) = try await Self.setUp([
            "reorder": true, "reorderWindowMs": 1000,
        ])
        _ = try shuffleClient.createDeployment(
            VercelDeploymentRequest(name: "r", gitSource: .github(org: "a", repo: "r", ref: "main", sha: nil)),
            shuffleCredentials)
        let reversed = try await Self.received(shuffled, shuffledInbox, shuffledSecret, count: 3)
        #expect(reversed.map(\.type).first != "deployment.created")
        #expect(reversed.map(\.type).last == "deployment.created")
    }

    @Test func promotionSendsPromoted() async throws {
        let (account, client, credentials, inbox, secret) = try await Self.setUp(buildMs: 50)
        let project = try client.createProject(
            VercelProjectSettings(name: "promoted-\(UUID().uuidString.prefix(6).lowercased())"), credentials)
        let deployment = try client.createDeployment(
            VercelDeploymentRequest(
                name: project.name, project: project.id, gitSource: .github(org: "a", repo: "p", ref: "main", sha: nil)),
            credentials)
        try await Task.sleep(for: .milliseconds(200))
        try client.promote(deploymentID: deployment.id, projectID: project.id, credentials)
        let events = try await Self.received(account, inbox, secret, count: 4)
        #expect(
            events.map(\.type) == [
                "deployment.created", "deployment.succeeded", "deployment.ready", "deployment.promoted",
            ])
    }
}
