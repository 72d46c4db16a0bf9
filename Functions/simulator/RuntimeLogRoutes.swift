import FastCGI
import Foundation
import Kernel

/// `GET /v1/projects/{projectId}/deployments/{deploymentId}/runtime-logs`: a deployment's runtime
/// logs from the moment of the request, as JSON lines (`application/stream+json`), for five
/// minutes at most (the `runtimeLogsMs` knob), in the shape of Vercel's SDK
/// (`getruntimelogsop.ts`: level, message, rowId, source, timestampInMs, domain, messageTruncated,
/// requestMethod, requestPath, responseStatusCode). Every request to a deployment's pages
/// (`SiteRoutes`) logs a `request` line; `POST /_sim/deployments/:id/runtime-logs` logs what the
/// app would (`console.error`, a crash).
enum RuntimeLogRoutes {
    struct Line: Codable, Sendable, Equatable {
        var level: String
        var message: String
        var rowId: String
        var source: String
        var timestampInMs: Int64
        var domain: String
        var messageTruncated: Bool
        var requestMethod: String
        var requestPath: String
        var responseStatusCode: Int
    }

    /// A deployment's lines: the last `keptLines`, and how many were ever logged.
    struct Kept: Sendable {
        var logged = 0
        var lines: [Line] = []

        /// The lines from the `from`th one logged on, of those still kept.
        func since(_ from: Int) -> ArraySlice<Line> {
            let first = logged - lines.count
            return lines[max(from - first, 0)...]
        }
    }

    /// How many lines a deployment keeps.
    static let keptLines = 5000
    /// Vercel cuts a message at 4 KiB (`messageTruncated`).
    static let messageLimit = 4096

    static func log(
        _ deployment: SimulatedDeployment, level: String, message: String, source: String, method: String,
        path: String, status: Int, in data: inout SimulatorState.Data
    ) {
        let truncated = message.utf8.count > messageLimit
        let line = Line(
            level: level,
            message: truncated ? String(decoding: message.utf8.prefix(messageLimit), as: UTF8.self) : message,
            rowId: String(UUID().uuidString.lowercased().prefix(20)), source: source, timestampInMs: data.tick(),
            domain: deployment.url, messageTruncated: truncated, requestMethod: method, requestPath: path,
            responseStatusCode: status)
        var kept = data.runtimeLogs[deployment.id, default: Kept()]
        kept.lines.append(line)
        kept.logged += 1
        if kept.lines.count > keptLines { kept.lines.removeFirst(kept.lines.count - keptLines) }
        data.runtimeLogs[deployment.id] = kept
    }

    /// A request to a deployment's pages, as Vercel logs it: its level follows the status.
    static func logRequest(
        _ deployment: SimulatedDeployment, path: String, status: Int, in data: inout SimulatorState.Data
    ) {
        let level = status >= 500 ? "error" : status >= 400 ? "warning" : "info"
        log(
            deployment, level: level, message: "", source: "request", method: "GET",
            path: String(path.prefix { $0 != "?" }), status: status, in: &data)
    }

    struct Logged: Decodable {
        let level: String?
        let message: String
        let source: String?
        let path: String?
        let status: Int?
    }

    static let levels: Set<String> = ["trace", "debug", "info", "warning", "error", "fatal"]
    static let sources: Set<String> = ["delimiter", "edge-function", "edge-middleware", "serverless", "request"]

    static func add(to router: inout Router<SimulatorState>) {
        router.api("GET", "/v1/projects/:projectId/deployments/:deploymentId/runtime-logs") { request, state, caller in
            let project = try ProjectRoutes.find(request.parameter("projectId") ?? "", caller, state)
            let deployment = try DeploymentRoutes.find(request.parameter("deploymentId") ?? "", caller, state)
            guard deployment.projectId == project.id else {
                throw VercelAPIError.notFound("The deployment was not found in this project")
            }
            let lasts = Int64(state.with { $0.faults[caller.token] ?? SimulatorState.Faults() }.runtimeLogsMs)
            let from = state.with { $0.runtimeLogs[deployment.id]?.logged ?? 0 }
            return Response(
                status: 200, headers: [("Content-Type", "application/stream+json"), ("X-Accel-Buffering", "no")],
                body: .stream { stream in
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                    let ends = state.now() + lasts
                    // From the moment of the request on.
                    var next = from
                    while state.now() < ends {
                        let (lines, logged) = state.with { data -> ([Line], Int) in
                            let kept = data.runtimeLogs[deployment.id] ?? Kept()
                            return (Array(kept.since(next)), kept.logged)
                        }
                        for line in lines { try stream.send(Array(try encoder.encode(line)) + [0x0a]) }
                        next = logged
                        usleep(20_000)
                    }
                })
        }
        // {"level", "message", "source", "path", "status"}: 204; 404 for another account's deployment.
        router.add("POST", "/_sim/deployments/:id/runtime-logs") { request, state in
            let token = try AdminRoutes.account(of: request, state)
            let wanted = try request.decodeJSON(Logged.self)
            guard levels.contains(wanted.level ?? "error"), sources.contains(wanted.source ?? "serverless") else {
                throw HTTPError(400, code: "INVALID_LOG", message: "level or source is not one Vercel sends")
            }
            let logged = state.with { data -> Bool in
                guard let account = data.accounts[token],
                    let deployment = data.deployments[request.parameter("id") ?? ""],
                    deployment.ownerID == account.user.id
                        || account.teams.contains(where: { $0.id == deployment.ownerID })
                else { return false }
                log(
                    deployment, level: wanted.level ?? "error", message: wanted.message,
                    source: wanted.source ?? "serverless", method: "GET", path: wanted.path ?? "/",
                    status: wanted.status ?? 500, in: &data)
                return true
            }
            return Response(status: logged ? 204 : 404)
        }
    }
}
