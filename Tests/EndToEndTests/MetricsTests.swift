import Foundation
import TestSupport
import Testing
import Vercel

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Each function's `/metrics` and the host's `/metrics/host` on nginx's internal listener: valid
/// for `promtool check metrics`, by route template (never the raw path), with webhook outcomes,
/// outbound calls, process figures, job runs and nginx's refusals; the public listener serves
/// neither.
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

    /// The value of the sample `series` (its name and labels exactly as written) in `text`.
    static func value(_ series: String, in text: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap {
            Double($0.dropFirst(series.count + 1))
        }
    }

    @Test func everyFunctionServesMetricsThatPromtoolAccepts() async throws {
        // Something to count in each: a request of a route with ids in its path, an unsigned
        // webhook.
        let user = try fixtures.user()
        let project = try fixtures.project(owner: user)
        _ = try await client.signed(
            "GET", "/v1/projects/\(project)/vercel/domains/shop.example.com/verification?userId=\(user)")
        _ = try await client.send("POST", "/v1/webhooks/vercel", body: Data("{}".utf8))

        for group in ["oauth", "webhooks", "deployments", "env", "domains", "breakglass", "optimization"] {
            let (status, text) = try await metrics(group)
            #expect(status == 200, "\(group)")
            #expect(text.contains("sheen_vercel_up{group=\"\(group)\"} 1"), "\(group): \(text.prefix(400))")
            // The process's own figures, by the standard names.
            for name in ["process_resident_memory_bytes", "process_open_fds", "process_start_time_seconds"] {
                let figure = try #require(Self.value("\(name){group=\"\(group)\"}", in: text), "\(group): \(name)")
                #expect(figure > 0)
            }
            // What the database holds is the host's, served once: no function repeats it.
            #expect(
                !text.contains("sheen_vercel_outbox_jobs") && !text.contains("sheen_vercel_database_up"), "\(group)")
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

    /// `/metrics/host`: the database's figures once, with job runs under `job_name` (never `job`,
    /// which Prometheus gives its targets), every job's schedule, and what the jobs counted.
    @Test func theHostServesTheDatabasesFiguresOnce() async throws {
        let job = Process()
        job.executableURL = URL(
            fileURLWithPath: try TestEnvironment.require("TEST_BIN_DIR") + "/vercel-job-nonce-prune")
        job.environment = ["DATABASE_URL": try TestEnvironment.require("TEST_DATABASE_URL"), "PATH": "/usr/bin:/bin"]
        let lines = Pipe()
        job.standardError = lines
        try job.run()
        let logged = String(decoding: lines.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        job.waitUntilExit()
        // Its log is data: numbers as numbers, and the run's id on every line.
        let done = try #require(
            logged.split(separator: "\n").first { $0.contains(#""message":"done""#) }, "\(logged)")
        let parsed = try JSONSerialization.jsonObject(with: Data(done.utf8))
        let fields = try #require(parsed as? [String: Any])
        #expect(fields["duration.ms"] is NSNumber && !(fields["duration.ms"] is String), "\(done)")
        #expect((fields["request.id"] as? String)?.hasPrefix("job-nonce-prune-") == true, "\(done)")

        let (status, text) = try await metrics("host")
        #expect(status == 200)
        #expect(text.contains("\nsheen_vercel_database_up 1\n"), "\(text.prefix(600))")
        #expect(text.contains("sheen_vercel_job_runs_total{job_name=\"nonce-prune\",outcome=\"done\"}"))
        #expect(Self.value("sheen_vercel_job_period_seconds{job_name=\"audit-checkpoint\"}", in: text) == 300)
        let succeeded = try #require(
            Self.value("sheen_vercel_job_last_success_timestamp_seconds{job_name=\"nonce-prune\"}", in: text))
        #expect(abs(succeeded - Date().timeIntervalSince1970) < 120)
        #expect(Self.value("sheen_vercel_audit_checkpoint_age_seconds", in: text) != nil)
        #expect(!text.contains("job=\"") && !text.contains("group=\"host\""))
        let (checked, said) = try promtool(text)
        #expect(checked == 0, "promtool said \(said)")
    }

    /// What nginx refuses itself (here a URI too long) is counted on the host's metrics.
    @Test func nginxsRefusalsAreCounted() async throws {
        let series = "sheen_vercel_nginx_refusals_total{status=\"414\"}"
        let before = Self.value(series, in: try await metrics("host").text) ?? 0
        let port = UInt16(client.baseURL.split(separator: ":").last!)!
        let raw =
            "GET /\(String(repeating: "a", count: 10_000)) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        let reply = try RawHTTP.exchange(port: port, raw: Array(raw.utf8))
        #expect(reply.hasPrefix("HTTP/1.1 414"))
        // nginx writes its log line as the request ends: give it a moment.
        var after = before
        for _ in 0..<50 where after < before + 1 {
            after = Self.value(series, in: try await metrics("host").text) ?? 0
            if after < before + 1 { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(after >= before + 1, "\(series): \(before) then \(after)")
    }

    /// A call to Vercel (the simulator) is measured by its endpoint's template, never its ids, and
    /// a job's calls are kept in the database for the host's metrics.
    @Test func outboundCallsAreMeasuredByTemplate() async throws {
        let connected = try await VercelConnectionFixture.connect(fixtures, client)
        let project = try fixtures.project(owner: connected.user)
        let vercelProject = try connected.vercel.createProject(
            VercelProjectSettings(name: "measured-\(UUID().uuidString.prefix(8).lowercased())"), connected.credentials)
        let reply = try await client.signed(
            "GET", "/v1/projects/\(project)/vercel/projects/\(vercelProject.id)?userId=\(connected.user)")
        #expect(reply.status == 200, "\(reply.text)")
        let text = try await metrics("deployments").text
        let count = try #require(
            Self.value(
                "sheen_vercel_outbound_request_duration_seconds_count{group=\"deployments\",remote=\"vercel\",endpoint=\"/v9/projects/{}\",method=\"GET\"}",
                in: text), "\(text)")
        #expect(count >= 1)
        #expect(
            text.contains(
                "sheen_vercel_outbound_requests_total{group=\"deployments\",remote=\"vercel\",endpoint=\"/v9/projects/{}\",method=\"GET\",status_class=\"2xx\"}"
            ))
        #expect(!text.contains(vercelProject.id))
    }

    @Test func thePublicListenerDoesNotServeMetrics() async throws {
        for path in ["/metrics", "/metrics/env", "/metrics/host"] {
            let reply = try await client.send("GET", path)
            #expect(reply.status == 404 && reply.code == "ROUTE_NOT_FOUND", "\(path)")
        }
    }
}
