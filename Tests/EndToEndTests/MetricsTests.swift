import Foundation
import TestSupport
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Each function's `/metrics` on nginx's internal listener: valid for `promtool check metrics`, by
/// route template (never the raw path), with webhook outcomes and job runs; the public listener
/// does not serve it.
@Suite(.serialized) struct MetricsTests {
    let client: StackClient
    let fixtures = StackFixtures()

    init() throws {
        client = try StackClient()
    }

    func metrics(_ group: String) async throws -> (status: Int, text: String) {
        let url = URL(string: try TestEnvironment.require("TEST_METRICS_URL") + "/metrics/\(group)")!
        let (data, response) = try await URLSession.shared.data(from: url)
        return ((response as! HTTPURLResponse).statusCode, String(decoding: data, as: UTF8.self))
    }

    /// `promtool check metrics` of `text`: its exit status and what it said.
    func promtool(_ text: String) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/promtool")
        process.arguments = ["check", "metrics"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let said = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, said)
    }

    @Test func everyFunctionServesMetricsThatPromtoolAccepts() async throws {
        // Something to count in each: a request of a route with ids in its path, an unsigned
        // webhook, a job run.
        let user = try fixtures.user()
        let project = try fixtures.project(owner: user)
        _ = try await client.signed(
            "GET", "/v1/projects/\(project)/vercel/domains/shop.example.com/verification?userId=\(user)")
        _ = try await client.send("POST", "/v1/webhooks/vercel", body: Data("{}".utf8))
        let job = Process()
        job.executableURL = URL(
            fileURLWithPath: try TestEnvironment.require("TEST_BIN_DIR") + "/vercel-job-nonce-prune")
        job.environment = ["DATABASE_URL": try TestEnvironment.require("TEST_DATABASE_URL"), "PATH": "/usr/bin:/bin"]
        job.standardError = FileHandle.nullDevice
        try job.run()
        job.waitUntilExit()

        for group in ["oauth", "webhooks", "deployments", "env", "domains", "breakglass", "optimization"] {
            let (status, text) = try await metrics(group)
            #expect(status == 200, "\(group)")
            #expect(text.contains("sheen_vercel_up{group=\"\(group)\"} 1"), "\(group): \(text.prefix(400))")
            #expect(text.contains("sheen_vercel_database_up{group=\"\(group)\"} 1"))
            #expect(
                text.contains("sheen_vercel_job_runs_total{group=\"\(group)\",job=\"nonce-prune\",outcome=\"done\"}"))
            let (checked, said) = try promtool(text)
            #expect(checked == 0, "\(group): promtool said \(said)")
        }
        let domains = try await metrics("domains").text
        #expect(
            domains.contains(
                "sheen_vercel_http_requests_total{group=\"domains\",route=\"/v1/projects/:projectId/vercel/domains/:domain/verification\",method=\"GET\",status=\"404\"}"
            ), "\(domains)")
        #expect(!domains.contains(project.uuidString.lowercased()) && !domains.contains("shop.example.com"))
        #expect(domains.contains("sheen_vercel_http_request_duration_seconds_bucket{group=\"domains\""))
        let webhooks = try await metrics("webhooks").text
        #expect(
            webhooks.contains(
                "sheen_vercel_webhook_events_total{group=\"webhooks\",source=\"vercel\",outcome=\"refused\"}"))
    }

    @Test func thePublicListenerDoesNotServeMetrics() async throws {
        for path in ["/metrics", "/metrics/env"] {
            let reply = try await client.send("GET", path)
            #expect(reply.status == 404 && reply.code == "ROUTE_NOT_FOUND", "\(path)")
        }
    }
}
