import DeploymentsGroup
import Foundation
import Kernel
import Platform
import PlatformHost
import Testing
import Vercel

/// The runtime log routes of the `deployments` group, called in process with Vercel and nginx's
/// publisher scripted: a reader's filter is checked and its channel fed only with the lines it
/// passes, each error is recorded once, and the summary counts them by path and status.
@Suite(.serialized) struct RuntimeLogRouteTests {
    let harness: GroupHarness
    let user: UUID
    let project: UUID

    init() throws {
        harness = try GroupHarness(DeploymentsGroup.group)
        user = try harness.user()
        project = try harness.project(of: user)
    }

    var base: String { "/v1/projects/\(project.uuidString.lowercased())/vercel" }

    func storedDeployment(_ id: String) throws {
        try harness.db.execute(
            """
            INSERT INTO vercel_deployments (deployment_id, created_at, project_id, vercel_project_id, deployment_url,
              deployment_state, deployment_type)
            VALUES (\(id), vercel_deployment_created_at(\(id), now()), \(project), 'prj_1', \("https://\(id).vercel.app"),
              'READY', 'PRODUCTION')
            """)
    }

    static func line(_ rowID: String, level: String, path: String, status: Int, message: String) -> String {
        #"{"level":"\#(level)","message":"\#(message)","rowId":"\#(rowID)","source":"serverless","timestampInMs":1790000000000,"domain":"dpl-rt.vercel.app","messageTruncated":false,"requestMethod":"GET","requestPath":"\#(path)","responseStatusCode":\#(status)}"#
    }

    @Test func aReadersFilterIsCheckedAndItsChannelGetsOnlyTheLinesItPasses() throws {
        defer { harness.drop() }
        try harness.link(project, connection: try harness.connect(user))
        let logs = "\(base)/deployments/dpl_rt/runtime-logs"
        for (query, reason) in [
            ("level=loud", "level must be one of"), ("status=6xx", "status must be"), ("path=api", "path must be"),
            ("Level=error", "in lower case"),
        ] {
            let refused = try harness.call("GET", "\(logs)?\(query)", as: user)
            #expect(refused.status == 400 && refused.code == "INVALID_RUNTIME_LOG_FILTER", "\(query): \(refused.text)")
            #expect((refused.json["error"] as? String)?.contains(reason) == true, "\(refused.text)")
        }
        #expect(try harness.call("GET", "\(logs)?level=error", as: user).code == "DEPLOYMENT_NOT_FOUND")

        try storedDeployment("dpl_rt")
        harness.vercel.on("GET", "/v1/projects/prj_1/deployments/dpl_rt/runtime-logs") { _ in
            HTTPResponse(
                status: 200,
                body: Array(
                    ([
                        Self.line("r1", level: "info", path: "/api/cart", status: 200, message: "fine"),
                        "not a log line",
                        Self.line("r2", level: "error", path: "/api/cart", status: 500, message: "TypeError"),
                        Self.line("r3", level: "error", path: "/about", status: 500, message: "elsewhere"),
                    ].joined(separator: "\n") + "\n").utf8))
        }
        harness.vercel.on("POST", "/_logs/publish/dpl_rt/runtime", status: 201, json: "{}")
        harness.vercel.on("GET", "/_logs/publish/dpl_rt/runtime", json: #"{"messages":1,"subscribers":0}"#)
        let answer = try harness.call("GET", "\(logs)?level=error&path=%2Fapi", as: user)
        #expect(answer.status == 204, "\(answer.text)")

        func published() -> [HTTPRequest] {
            harness.vercel.requests.filter { $0.method == "POST" && $0.url.hasSuffix("/_logs/publish/dpl_rt/runtime") }
        }
        func recordedCount() throws -> Int { try harness.db.query("SELECT 1 FROM vercel_runtime_errors").count }
        let deadline = Date().addingTimeInterval(5)
        while try published().isEmpty || recordedCount() < 2, Date() < deadline { usleep(20_000) }
        // Only the error under /api, to the channel named by the query as sent.
        let sent = published()
        #expect(sent.count == 1, "\(harness.vercel.sent)")
        let headers = sent.first?.headers ?? []
        #expect(headers.first { $0.0 == "X-Runtime-Filter" }.map(\.1) == "error::%2Fapi")
        #expect(headers.first { $0.0 == "X-EventSource-Event" }.map(\.1) == "error")
        let body = String(decoding: sent.first?.body ?? [], as: UTF8.self)
        #expect(body.contains(#""rowId":"r2""#), "\(body)")
        // Both errors are recorded, whatever the reader's filter; the fine line is not.
        let recorded = try harness.db.query("SELECT row_id FROM vercel_runtime_errors ORDER BY row_id").map {
            $0["row_id"]
        }
        #expect(recorded == ["r2", "r3"])
        // A second reader with another filter shares the pump: Vercel's stream is not opened again for it.
        let streams = harness.vercel.sent.filter { $0 == "GET /v1/projects/prj_1/deployments/dpl_rt/runtime-logs" }
            .count
        #expect(try harness.call("GET", "\(logs)?status=5xx", as: user).status == 204)
        // A deployment's readers hold at most 32 filters at once: each costs a publish per line.
        for index in 0..<30 {
            #expect(try harness.call("GET", "\(logs)?path=%2Fp\(index)", as: user).status == 204)
        }
        let full = try harness.call("GET", "\(logs)?path=%2Fone-more", as: user)
        #expect(full.status == 503 && full.code == "TOO_MANY_LOG_STREAMS", "\(full.text)")
        #expect(try harness.call("GET", "\(logs)?path=%2Fp0", as: user).status == 204)
        #expect(
            harness.vercel.sent.filter { $0 == "GET /v1/projects/prj_1/deployments/dpl_rt/runtime-logs" }.count
                <= streams + 1)
    }

    @Test func theSummaryCountsTheRecordedErrorsByPathAndStatus() throws {
        defer { harness.drop() }
        try harness.link(project, connection: try harness.connect(user))
        try storedDeployment("dpl_sum")
        try harness.db.execute(
            """
            INSERT INTO vercel_runtime_errors (deployment_id, project_id, row_id, logged_at, level, source, request_method,
              request_path, status, message)
            SELECT 'dpl_sum', \(project)::uuid, 'row' || n, now() - make_interval(secs => n), 'error', 'serverless', 'GET',
              CASE WHEN n % 3 = 0 THEN '/about' ELSE '/api/cart' END, 500, 'failure ' || n
            FROM generate_series(1, 9) AS n
            UNION ALL
            SELECT 'dpl_sum', \(project)::uuid, 'old', now() - interval '3 hours', 'error', 'serverless', 'GET', '/old', 500, 'long ago'
            """)
        let errors = "\(base)/deployments/dpl_sum/runtime-errors"
        for since in ["yesterday-ish", String(Int64(Date().timeIntervalSince1970 * 1000) + 3_600_000)] {
            let refused = try harness.call("GET", "\(errors)?since=\(since)", as: user)
            #expect(refused.status == 400 && refused.code == "INVALID_SINCE", "\(refused.text)")
        }
        // The last hour by default: the one three hours old is left out.
        let summary = try harness.call("GET", errors, as: user)
        #expect(summary.status == 200, "\(summary.text)")
        #expect(summary.json["total"] as? Int == 9 && summary.json["truncated"] as? Bool == false)
        let byPath = try #require(summary.json["byPath"] as? [[String: Any]])
        #expect(byPath.map { $0["path"] as? String } == ["/api/cart", "/about"])
        #expect(byPath.map { $0["count"] as? Int } == [6, 3])
        let latest = try #require(summary.json["latest"] as? [[String: Any]])
        #expect(latest.count == 9 && latest.first?["message"] as? String == "failure 1")
        #expect(summary.json["following"] as? Bool == true)
        // Back four hours: the old one too.
        let since = ISO8601.format(Date().addingTimeInterval(-4 * 3600))
        let wider = try harness.call("GET", "\(errors)?since=\(since)", as: user)
        #expect(wider.json["total"] as? Int == 10, "\(wider.text)")
        #expect(
            try harness.call("GET", "\(base)/deployments/dpl_none/runtime-errors", as: user).code
                == "DEPLOYMENT_NOT_FOUND")
    }
}
