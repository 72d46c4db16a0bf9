import Foundation
import Kernel
import Platform
import TestSupport
import Testing
import Vercel

/// The smoke-check probe against deployments' pages on the simulator, through nginx's server for
/// `*.vercel.app`: what passes and fails, and that it never leaves the deployment's host.
@Suite struct DeploymentProbeTests {
    /// An account with a READY deployment, and a probe that reaches deployments through the
    /// simulator's port.
    static func setUp() async throws -> (SimulatorAccount, VercelClient, VercelClient.Credentials, DeploymentProbe) {
        let (account, client, credentials, _, _) = try await SimulatorWebhookTests.setUp(buildMs: 20)
        let via = String(account.baseURL.dropFirst("http://".count))
        return (
            account, client, credentials, DeploymentProbe(transport: CurlTransport(responseLimit: 1 << 20), via: via)
        )
    }

    static func ready(
        _ name: String, _ client: VercelClient, _ credentials: VercelClient.Credentials
    ) async throws -> VercelDeployment {
        let created = try client.createDeployment(
            VercelDeploymentRequest(
                name: "\(name)-\(UUID().uuidString.prefix(6).lowercased())",
                gitSource: .github(org: "a", repo: name, ref: "main", sha: nil)), credentials)
        for _ in 0..<100 {
            let deployment = try client.deployment(created.id, credentials)
            if deployment.readyState == "READY" { return deployment }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw CancellationError()
    }

    static func site(
        _ account: SimulatorAccount, _ deployment: VercelDeployment, _ behaviour: [String: Any]
    )
        async throws
    {
        _ = try await account.admin("PUT", "/_sim/deployments/\(deployment.id)/site", behaviour)
    }

    static func requests(_ account: SimulatorAccount, _ deployment: VercelDeployment) async throws -> [String] {
        try JSONDecoder().decode(
            [String].self, from: try await account.admin("GET", "/_sim/deployments/\(deployment.id)/site/requests", nil)
        )
    }

    @Test func aHealthyPagePassesAndABrokenOneFailsWithWhy() async throws {
        let (account, client, credentials, probe) = try await Self.setUp()
        let deployment = try await Self.ready("probed", client, credentials)
        let host = try #require(DeploymentProbe.host(ofDeploymentURL: deployment.url))
        let healthy = probe.probe(.root, host: host)
        #expect(healthy.passed && healthy.status == 200 && healthy.reason == nil, "\(healthy)")
        #expect(
            probe.probe(SmokeCheck(path: "/", contains: deployment.name), host: host).passed,
            "the default page names the deployment")
        #expect(probe.probe(SmokeCheck(path: "/", contains: "nowhere on the page"), host: host).reason != nil)

        try await Self.site(account, deployment, ["status": 500, "body": "Internal Server Error"])
        let broken = probe.probe(.root, host: host)
        #expect(!broken.passed && broken.status == 500 && broken.reason == "answered 500, expected 2xx")
        try await Self.site(account, deployment, ["status": 200, "body": ""])
        #expect(probe.probe(.root, host: host).reason == "answered an empty body")
        try await Self.site(account, deployment, ["status": 404, "paths": ["/missing"]])
        #expect(probe.probe(SmokeCheck(path: "/missing", expectStatus: 404), host: host).passed)
        try await Self.site(account, deployment, ["delayMs": 800, "body": "slow"])
        let slow = probe.probe(SmokeCheck(path: "/", latencyBudgetMs: 300), host: host)
        #expect(!slow.passed && slow.status == nil && slow.durationMs < 700, "\(slow)")
        #expect(try await Self.requests(account, deployment).count == 7)
    }

    @Test func aProbeNeverLeavesTheDeploymentsHost() async throws {
        let (account, client, credentials, probe) = try await Self.setUp()
        let deployment = try await Self.ready("redirected", client, credentials)
        let other = try await Self.ready("elsewhere", client, credentials)
        let host = try #require(DeploymentProbe.host(ofDeploymentURL: deployment.url))

        // To another host, even one the probe could reach: not followed.
        try await Self.site(account, deployment, ["status": 302, "location": "https://\(other.url)/"])
        let away = probe.probe(.root, host: host)
        #expect(!away.passed && away.status == 302)
        #expect(away.reason == "redirected away from the deployment's host; not followed")
        #expect(try await Self.requests(account, other).isEmpty)
        // To a private address, the cloud's metadata service among them: not followed either.
        for location in ["http://169.254.169.254/latest/meta-data/", "https://10.0.0.1/", "//127.0.0.1/admin"] {
            try await Self.site(account, deployment, ["status": 301, "location": location])
            #expect(probe.probe(.root, host: host).reason == "redirected away from the deployment's host; not followed")
        }
        // On the same host: followed, to at most three hops.
        try await Self.site(account, deployment, ["status": 308, "location": "/home", "paths": ["/"]])
        let followed = probe.probe(.root, host: host)
        #expect(followed.passed && followed.status == 200, "\(followed)")
        try await Self.site(account, deployment, ["status": 302, "location": "https://\(host)/again"])
        #expect(probe.probe(.root, host: host).reason == "more than 3 redirects")
        #expect(
            try await Self.requests(account, deployment).suffix(6) == ["/", "/home", "/", "/again", "/again", "/again"])
    }

    @Test func withoutTheSimulatorOnlyPublicAddressesOverHttpsAreReached() throws {
        let port = try #require(URL(string: try TestEnvironment.require("TEST_SIMULATOR_URL"))?.port)
        let transport = CurlTransport()
        // The same loopback listener: reached when allowed (a TLS error, it speaks plain http),
        // refused before connecting when only public addresses may be.
        var request = HTTPRequest(
            method: "GET", url: "https://127.0.0.1:\(port)/", connectTimeout: .seconds(2), totalTimeout: .seconds(3))
        #expect(Self.failure(of: request, transport).map(Self.isConnectFailure) == false)
        request.publicOnly = true
        #expect(Self.failure(of: request, transport).map(Self.isConnectFailure) == true)
        request.url = "http://127.0.0.1:\(port)/healthz/simulator"
        #expect(Self.failure(of: request, transport) != nil, "plain http is refused")
        // A deployment host that resolves to a private address is not reached.
        let probe = DeploymentProbe(transport: transport)
        #expect(probe.probe(.root, host: "localhost").reason == "the deployment's host could not be reached")
    }

    static func failure(of request: HTTPRequest, _ transport: CurlTransport) -> HTTPTransportError? {
        do {
            _ = try transport.send(request)
            return nil
        } catch {
            return error
        }
    }

    static func isConnectFailure(_ error: HTTPTransportError) -> Bool {
        if case .connectFailed = error { return true }
        return false
    }

    @Test func onlyPlainHostsAndStayingPathsAreProbed() {
        #expect(DeploymentProbe.host(ofDeploymentURL: "https://app-abc123.vercel.app") == "app-abc123.vercel.app")
        #expect(DeploymentProbe.host(ofDeploymentURL: "App-1.vercel.app/") == "app-1.vercel.app")
        for bad in [
            "https://a.vercel.app:8443", "user@a.vercel.app", "10.0.0.1", "a..b", "-a.vercel.app", "a.vercel.app/x",
        ] {
            #expect(DeploymentProbe.host(ofDeploymentURL: bad) == nil, "\(bad)")
        }
        for path in [
            "//evil.example/", "no-slash", "/a b", "/a#b", "/\\evil", "/" + String(repeating: "a", count: 255),
        ] {
            #expect(SmokeCheck(path: path).problem != nil, "\(path)")
        }
        #expect(SmokeCheck(path: "/", latencyBudgetMs: 20_000).problem != nil)
        #expect(SmokeCheck(path: "/", expectStatus: 99).problem != nil)
        #expect(SmokeCheck(path: "/api/health?full=1", expectStatus: 204).problem == nil)
        #expect(DeploymentProbe.sameHostPath("/x", host: "a.vercel.app") == "/x")
        #expect(DeploymentProbe.sameHostPath("https://a.vercel.app", host: "a.vercel.app") == "/")
        #expect(DeploymentProbe.sameHostPath("https://a.vercel.app.evil.example/", host: "a.vercel.app") == nil)
        #expect(DeploymentProbe.sameHostPath("https://a.vercel.app@evil.example/", host: "a.vercel.app") == nil)
        #expect(DeploymentProbe.sameHostPath("http://a.vercel.app/", host: "a.vercel.app") == nil)
    }
}
