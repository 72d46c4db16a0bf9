import Crypto
import Foundation
import Postgres
import TestSupport
import Testing

/// The cluster `scripts/dev cluster test` brings up: two hosts (a, b) behind a round-robin
/// balancer, one Postgres primary with a synchronous replica, one Redis for the build log channels.
/// `TEST_BASE_URL` is the balancer; these suites run only there (`TEST_CLUSTER=1`).
enum ClusterStack {
    static var enabled: Bool { ProcessInfo.processInfo.environment["TEST_CLUSTER"] == "1" }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// Each host's nginx port, by name.
    static func hosts() throws -> [String: UInt16] {
        var ports: [String: UInt16] = [:]
        for entry in try TestEnvironment.require("TEST_CLUSTER_HOSTS").split(separator: ",") {
            let parts = entry.split(separator: "=", maxSplits: 1)
            ports[String(parts[0])] = UInt16(parts[1].split(separator: ":").last!)!
        }
        return ports
    }

    static func port(of url: String) -> UInt16 { UInt16(url.split(separator: ":").last!)! }

    /// `scripts/dev cluster <arguments>`; its exit status. Spawned and waited for here (not with
    /// Foundation's Process, whose wait can miss the exit of a script that leaves daemons behind).
    static func dev(_ arguments: String...) async throws -> Int32 {
        let argv = ["/bin/bash", root + "/scripts/dev", "cluster"] + arguments
        return try await onOwnThread {
            var pid = pid_t()
            let pointers = argv.map { strdup($0) } + [nil]
            defer { for pointer in pointers { free(pointer) } }
            let spawned = posix_spawn(&pid, "/bin/bash", nil, nil, pointers, environ)
            guard spawned == 0 else { throw TestEnvironment.Missing(name: "bash (posix_spawn \(spawned))") }
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0, errno == EINTR {}
            return (status >> 8) & 0xff
        }
    }

    static func state() throws -> String { try TestEnvironment.require("TEST_CLUSTER_STATE") }

    /// The pid of a group's function on `host`.
    static func pid(of group: String, on host: String) throws -> String? {
        try? String(contentsOfFile: "\(state())/\(host)/run/\(group).pid", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The host whose deployments function a pump lease's holder (`hostname/pid/random`) names.
    static func host(holding holder: String) throws -> String? {
        let parts = holder.split(separator: "/")
        guard parts.count == 3 else { return nil }
        return try hosts().keys.first { try pid(of: "deployments", on: $0) == String(parts[1]) }
    }

    /// What a host's job `name` logged: one JSON object per line.
    static func jobLines(_ name: String, on host: String) throws -> [[String: Any]] {
        let file = "\(try state())/\(host)/logs/job-\(name).log"
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
    }
}

@Suite(.serialized, .enabled(if: ClusterStack.enabled)) struct ClusterTests {
    typealias Event = BuildLogStreamTests.Event
    let client: StackClient
    let fixtures = StackFixtures()

    init() throws {
        client = try StackClient()
    }

    var front: UInt16 { ClusterStack.port(of: client.baseURL) }

    /// One subscription at `port`, read until the build's end, the connection's loss or `timeout`.
    static func read(
        _ client: StackClient, _ path: String, port: UInt16, lastEventID: String? = nil,
        until marker: String = "event: end", timeout: Int = 90
    ) async throws -> [Event] {
        var headers = client.signatureHeaders("GET", path)
        headers["Accept"] = "text/event-stream"
        if let lastEventID { headers["Last-Event-ID"] = lastEventID }
        let sent = headers
        let text = try await onOwnThread {
            try RawHTTP.get(port: port, path: path, headers: sent, timeout: timeout, until: marker).map(\.text).joined()
        }
        return BuildLogStreamTests.events(text)
    }

    static let successfulBuild = [
        "deployment-state", "command", "stdout", "stdout", "stdout", "alias-assigned", "deployment-state", "end",
    ]

    func pumpRows(_ ids: [String]) throws -> [String: (holder: String, takeovers: Int, finished: Bool)] {
        var rows: [String: (String, Int, Bool)] = [:]
        for row in try fixtures.db.query(
            """
            SELECT deployment_id, holder, takeovers, finished_at IS NOT NULL AS finished FROM vercel_log_pumps
            WHERE deployment_id = ANY(\(ids))
            """)
        {
            rows[try row.decode("deployment_id")] = (
                try row.decode("holder"), try row.decode("takeovers"), try row.decode("finished")
            )
        }
        return rows
    }

    @Test func readersOnEitherHostGetEveryEventInOrderFromOneVercelStreamPerDeployment() async throws {
        let hosts = try ClusterStack.hosts()
        let linked = try await LinkedProjectFixture.make(fixtures, client, buildMs: 6_000)
        var ids: [String] = []
        for _ in 0..<3 { ids.append(try await linked.deployPreview()) }
        // Per deployment: a reader on each host, and two through the balancer.
        let ports = [hosts["a"]!, hosts["b"]!, front, front]
        let readings = try await withThrowingTaskGroup(of: (String, [Event]).self) { group in
            for id in ids {
                let path = "\(linked.base)/deployments/\(id)/logs?userId=\(linked.user)"
                for port in ports { group.addTask { [client] in (id, try await Self.read(client, path, port: port)) } }
            }
            var all: [(String, [Event])] = []
            for try await reading in group { all.append(reading) }
            return all
        }
        for id in ids {
            let seen = readings.filter { $0.0 == id }.map(\.1)
            #expect(seen.count == ports.count)
            let first = try #require(seen.first)
            #expect(first.map(\.type) == Self.successfulBuild, "\(id): \(first)")
            #expect(first.last?.data == #"{"state":"READY"}"#)
            #expect(first.allSatisfy { $0.id != nil })
            for other in seen.dropFirst() {
                #expect(other == first, "\(id): a reader saw another sequence")
            }
        }
        // One Vercel stream per deployment watched, whichever host pumped it.
        #expect(try await linked.connected.account.requests()["GET /v3/deployments/:id/events"] == ids.count)
        let rows = try pumpRows(ids)
        #expect(rows.count == ids.count)
        #expect(rows.values.allSatisfy { $0.finished && $0.takeovers == 0 }, "\(rows)")
    }

    @Test func whenThePumpingHostDiesAnotherTakesOverAndAReaderThatReconnectsMissesNothing() async throws {
        let hosts = try ClusterStack.hosts()
        // Long enough that the host dies mid-build and the lease lapses before it ends.
        let linked = try await LinkedProjectFixture.make(fixtures, client, buildMs: 40_000)
        let id = try await linked.deployPreview()
        let path = "\(linked.base)/deployments/\(id)/logs?userId=\(linked.user)"
        // A first reader through the balancer starts the deployment's pump on one host.
        let opening = try await Self.read(client, path, port: front, until: "event: deployment-state", timeout: 20)
        #expect(opening.first?.type == "deployment-state", "\(opening)")
        let holder = try #require(try pumpRows([id])[id]?.holder)
        let pumping = try #require(try ClusterStack.host(holding: holder), "no host runs \(holder)")
        let surviving = try #require(hosts.keys.first { $0 != pumping })

        // One reader on the host that will die (reconnecting through the balancer from where it
        // stopped), one on the other host all along.
        let (client, front) = (self.client, self.front)
        let (survivingPort, pumpingPort) = (hosts[surviving]!, hosts[pumping]!)
        let survivor = Task { try await Self.read(client, path, port: survivingPort, timeout: 120) }
        let reconnecting = Task { () -> (events: [Event], connections: Int) in
            var events = try await Self.read(client, path, port: pumpingPort, timeout: 120)
            var connections = 1
            while events.last?.type != "end", connections < 8 {
                events += try await Self.read(client, path, port: front, lastEventID: events.last?.id, timeout: 120)
                connections += 1
            }
            return (events, connections)
        }
        try await Task.sleep(for: .seconds(4))
        #expect(try await ClusterStack.dev("kill", pumping) == 0)
        let (events, connections) = try await reconnecting.value
        let seenThroughout = try await survivor.value
        do {
            #expect(connections >= 2, "the reader on the dead host was not cut off")
            #expect(events.map(\.type) == Self.successfulBuild, "\(events)")
            #expect(events == seenThroughout, "the reconnecting reader's events are not the survivor's")
            #expect(Set(events.compactMap(\.id)).count == events.count, "an event came twice")
            // The lease is let go just after the end is published.
            var row = try #require(try pumpRows([id])[id])
            for _ in 0..<50 where !row.finished {
                try await Task.sleep(for: .milliseconds(100))
                row = try #require(try pumpRows([id])[id])
            }
            #expect(try ClusterStack.host(holding: row.holder) == surviving, "\(row.holder)")
            #expect(row.takeovers == 1 && row.finished, "\(row)")
            // The dead host's stream and the one that took over.
            #expect(try await linked.connected.account.requests()["GET /v3/deployments/:id/events"] == 2)
        }
        #expect(try await ClusterStack.dev("start", pumping) == 0)
    }

    @Test func aHostNamesTheClientTheBalancerSawAndKeepsItsRequestID() async throws {
        let user = try fixtures.user()
        let requestID = "cluster-\(UUID().uuidString.prefix(12).lowercased())"
        // A client that claims another address: the balancer adds the one it saw (127.0.0.1), and
        // each host trusts only the balancer's own address (127.0.0.2).
        let reply = try await client.signed(
            "GET", "/v1/internal/vercel/oauth/status?userId=\(user)",
            headers: ["X-Request-ID": requestID, "X-Forwarded-For": "203.0.113.9"])
        #expect(reply.status == 200, "\(reply.text)")
        #expect(reply.header("x-request-id") == requestID)
        var line: [String: Any]?
        for _ in 0..<50 where line == nil {
            for host in try ClusterStack.hosts().keys {
                let file = "\(try ClusterStack.state())/\(host)/logs/nginx-access.log"
                let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
                if let match = text.split(separator: "\n").first(where: { $0.contains(requestID) }) {
                    line = try JSONSerialization.jsonObject(with: Data(match.utf8)) as? [String: Any]
                }
            }
            if line == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        let logged = try #require(line, "no host logged \(requestID)")
        #expect(logged["client"] as? String == "127.0.0.1", "\(logged)")
        #expect(logged["request.id"] as? String == requestID)
    }

    // MARK: Jobs once across hosts

    /// A git push whose deployment Vercel refuses once: the delivery waits for `vercel-job-git-deploy`.
    func pushThatWaitsForTheRetryJob(
        _ linked: LinkedProjectFixture, repository: String, secret: String, sha: String
    ) async throws {
        try await linked.connected.account.setFaults(["buildMs": 300, "serverErrors": 1])
        let push =
            #"{"ref":"refs/heads/feature/\#(sha.prefix(8))","after":"\#(sha)","repository":{"full_name":"\#(repository)"}}"#
        let body = Data(push.utf8)
        let reply = try await client.send(
            "POST", "/v1/webhooks/git/github", body: body,
            headers: [
                "content-type": "application/json", "X-GitHub-Event": "push", "X-GitHub-Delivery": UUID().uuidString,
                "X-Hub-Signature-256": "sha256="
                    + Hex.encode(HMAC.sha256(key: Array(secret.utf8), message: Array(body))),
            ])
        #expect(reply.status == 202, "\(reply.text)")
        #expect(GitAutoDeployTests.decisions(reply) == ["failed"], "\(reply.text)")
    }

    @Test func bothHostsRunEveryJobAndEachPieceOfWorkIsDoneOnce() async throws {
        let started = Date()
        let settings = try TestEnvironment.stackConfiguration()
        let webhookSecret = Array(try #require(settings["VERCEL_OAUTH_CLIENT_SECRET"]).utf8)
        // Alerts: eight failed production deployments.
        var failed: [String] = []
        for _ in 0..<8 {
            failed.append(
                try await fixtures.failProductionDeployment(through: client, secret: webhookSecret, prefix: "cluster")
                    .deployment)
        }
        // Git deliveries: four pushes Vercel refused once, for the retry job; their builds' ends
        // (Vercel's webhooks) queue the finalizations.
        let linked = try await LinkedProjectFixture.make(
            fixtures, client, repository: .init(type: "github", repo: "acme/cluster-jobs"))
        let connected = try await client.signed(
            "PUT", "\(linked.base)/git",
            json: #"{"userId":"\#(linked.user)","provider":"github","repository":"acme/cluster-jobs"}"#)
        let secret = try #require(connected.json?["webhookSecret"] as? String, "\(connected.text)")
        // Four: a fifth refusal in a row would open the account's circuit breaker for a minute.
        let shas = (0..<4).map { index in String(repeating: "\(index)", count: 8) + "deadbeefcafe1234567890abcdef1234" }
        for sha in shas {
            try await pushThatWaitsForTheRetryJob(linked, repository: "acme/cluster-jobs", secret: secret, sha: sha)
        }
        try fixtures.db.execute(
            """
            UPDATE vercel_jobs SET run_after = now() WHERE status = 'pending' AND (
              (kind = 'git.deploy' AND (payload->>'deliveryRowId')::bigint IN (
                 SELECT id FROM vercel_git_deliveries WHERE project_id = \(linked.project)))
              OR (kind = 'alert' AND dedup_key = ANY(\(failed.map { "deployment.failed:\($0)" }))))
            """)

        // Both hosts' runners work through it on their schedules (every minute), for at least two
        // minutes, until everything is done (five minutes at most).
        func deployments() throws -> [String] {
            try fixtures.db.query(
                "SELECT git_source->>'commitSha' AS sha FROM vercel_deployments WHERE project_id = \(linked.project)"
            ).compactMap { $0["sha"] ?? nil }
        }
        func rows(_ sql: SQL) throws -> [(status: String, attempts: Int)] {
            try fixtures.db.query(sql).map { (try $0.decode("status"), try $0.decode("attempts")) }
        }
        let alertKeys = failed.map { "deployment.failed:\($0)" }
        func gitJobs() throws -> [(status: String, attempts: Int)] {
            try rows(
                """
                SELECT status::text AS status, attempts FROM vercel_jobs WHERE kind = 'git.deploy'
                  AND (payload->>'deliveryRowId')::bigint IN (SELECT id FROM vercel_git_deliveries WHERE project_id = \(linked.project))
                """)
        }
        func alertJobs() throws -> [(status: String, attempts: Int)] {
            try rows(
                "SELECT status::text AS status, attempts FROM vercel_jobs WHERE kind = 'alert' AND dedup_key = ANY(\(alertKeys))"
            )
        }
        func finalizations() throws -> [(status: String, attempts: Int)] {
            try rows(
                """
                SELECT status::text AS status, attempts FROM vercel_jobs WHERE kind = 'deployment.finalize'
                  AND lower(payload->>'projectId') = \(linked.project.uuidString.lowercased())
                """)
        }
        let deadline = Date().addingTimeInterval(300)
        while Date() < deadline {
            let done =
                try gitJobs().allSatisfy { $0.status == "done" } && alertJobs().allSatisfy { $0.status == "done" }
                && finalizations().count == shas.count && finalizations().allSatisfy { $0.status == "done" }
            if done, Date().timeIntervalSince(started) >= 130 { break }
            try await Task.sleep(for: .seconds(5))
        }

        // Every git delivery deployed once, by one run of one host.
        let deployed = try deployments()
        #expect(deployed.sorted() == shas.sorted(), "\(deployed)")
        // (A job may take more than one attempt: a run that finds Vercel failing tries again later.)
        let git = try gitJobs()
        #expect(git.count == shas.count && git.allSatisfy { $0.status == "done" }, "\(git)")
        // Every finalization queued once and applied.
        let finalized = try finalizations()
        #expect(finalized.count == shas.count, "\(finalized)")
        #expect(finalized.allSatisfy { $0.status == "done" }, "\(finalized)")
        // Every alert delivered once.
        let alerts = try alertJobs()
        #expect(alerts.count == failed.count && alerts.allSatisfy { $0.status == "done" }, "\(alerts)")
        let inbox = try await SimulatorAccount.send(
            "GET", try TestEnvironment.require("TEST_SIMULATOR_URL") + "/_sim/inbox/cluster-alerts", body: nil,
            token: nil)
        let received = try #require(try JSONSerialization.jsonObject(with: inbox) as? [[String: Any]])
        for deployment in failed {
            let copies = received.filter { ($0["body"] as? String)?.contains(deployment) == true }
            #expect(copies.count == 1, "\(deployment) was delivered \(copies.count) times")
        }

        // Both hosts ran every per-minute job; no run overlapped another of the same job beyond the
        // runs its locks let work at once.
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let slots = ["git-feedback": 2, "domain-health": 4]
        for job in [
            "token-refresh", "webhook-retry", "alerts", "deployment-sync", "domain-health", "git-deploy",
            "git-feedback",
        ] {
            var runs: [(start: Date, end: Date)] = []
            for host in try ClusterStack.hosts().keys {
                let lines = try ClusterStack.jobLines(job, on: host).filter {
                    (($0["time"] as? String).flatMap(formatter.date(from:)) ?? .distantPast) >= started
                }
                #expect(
                    lines.contains {
                        ["done", "skipped: another run holds the lock"].contains($0["message"] as? String)
                    },
                    "\(job) did not run on host \(host)")
                for line in lines where line["message"] as? String == "done" {
                    // While the run held its lock (its slot's, for a job with several).
                    guard let from = Double("\(line["lock.from_ms"] ?? "")"),
                        let until = Double("\(line["lock.until_ms"] ?? "")")
                    else {
                        Issue.record("\(job) on \(host) logged no lock times: \(line)")
                        continue
                    }
                    runs.append((Date(timeIntervalSince1970: from / 1000), Date(timeIntervalSince1970: until / 1000)))
                }
            }
            #expect(!runs.isEmpty, "\(job) never did its work")
            for run in runs {
                let atOnce = runs.filter { $0.start < run.end && run.start < $0.end }.count
                #expect(atOnce <= slots[job, default: 1], "\(job): \(atOnce) runs at once around \(run.start)")
            }
        }
    }
}
