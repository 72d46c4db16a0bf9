#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Crypto
import FastCGI
import Platform
import Postgres
import Vercel

/// `GET /v1/projects/:projectId/vercel/deployments` (this service's records, newest first, with a
/// cursor, filters and the last 30 days' figures) and `GET .../deployments/:deploymentId` (asked of
/// Vercel again while the build is not over).
enum DeploymentWatch {
    @Sendable static func list(_ request: Request, _ context: RequestContext, _ caller: PlatformCaller) throws -> Response {
        let projectID = try request.projectID()
        let limit = try request.query("limit").map { text -> Int in
            guard let value = Int(text), (1...100).contains(value) else { throw HTTPError.badRequest("limit must be 1 to 100", code: "INVALID_LIMIT") }
            return value
        } ?? 20
        let states = try request.query("state").map { text -> [String] in
            let names = text.split(separator: ",").map { $0.uppercased() }
            guard !names.isEmpty, names.count <= 7, names.allSatisfy({ DeploymentState(rawValue: $0) != nil }) else {
                throw HTTPError.badRequest(
                    "state must be one or more of QUEUED, INITIALIZING, BUILDING, READY, ERROR, CANCELED, BLOCKED", code: "INVALID_STATE")
            }
            return names
        }
        let type = try request.query("target").map { text -> String in
            guard ["production", "preview"].contains(text) else {
                throw HTTPError.badRequest("target must be production or preview", code: "INVALID_TARGET")
            }
            return text.uppercased()
        }
        let cursor = try request.query("cursor").map(Cursor.init(text:))
        let rows = try context.database.query(
            """
            SELECT \(fragment: DeploymentStore.columns), created_at::text AS position
            FROM vercel_deployments
            WHERE project_id = \(projectID)
              AND (\(states)::text[] IS NULL OR deployment_state::text = ANY(\(states)::text[]))
              AND (\(type)::text IS NULL OR deployment_type::text = \(type))
              AND (\(cursor?.createdAt)::timestamptz IS NULL OR (created_at, deployment_id) < (\(cursor?.createdAt)::timestamptz, \(cursor?.deploymentID)))
            ORDER BY created_at DESC, deployment_id DESC
            LIMIT \(limit + 1)
            """)
        let page = try rows.prefix(limit).map(DeploymentStore.record)
        let next = rows.count > limit ? try rows[limit - 1].decode("position", as: String.self) : nil
        let nextCursor: JSONValue = next.map { .string(Cursor(createdAt: $0, deploymentID: page[limit - 1].deploymentID).text) } ?? .null
        return .json(JSONValue.object([
            "deployments": .array(page.map(\.json)), "pagination": .object(["next": nextCursor]),
            "stats": try stats(projectID, context.database),
        ]))
    }

    /// A position in the list: after the deployment created at `createdAt` (Postgres's own text of
    /// the timestamp, so it compares exactly) with id `deploymentID`. Opaque to callers.
    struct Cursor {
        let createdAt: String
        let deploymentID: String

        init(createdAt: String, deploymentID: String) {
            self.createdAt = createdAt
            self.deploymentID = deploymentID
        }

        init(text: String) throws {
            guard text.utf8.count <= 512, let bytes = Base64URL.decode(text) else { throw Self.invalid }
            let parts = String(decoding: bytes, as: UTF8.self).split(separator: "|", maxSplits: 1).map(String.init)
            guard parts.count == 2, parts[0].utf8.count <= 40, (1...255).contains(parts[1].utf8.count),
                  parts[0].utf8.allSatisfy({ (0x20...0x3a).contains($0) }) else { throw Self.invalid }
            createdAt = parts[0]
            deploymentID = parts[1]
        }

        var text: String { Base64URL.encode(Array("\(createdAt)|\(deploymentID)".utf8)) }

        static let invalid = HTTPError.badRequest("cursor is not one this list gave", code: "INVALID_CURSOR")
    }

    /// The last 30 days of the project's deployments: counts by state, the success rate of the
    /// builds that finished, and build times of the READY ones.
    static func stats(_ projectID: UUID, _ database: PostgresConnection) throws -> JSONValue {
        let row = try database.query(
            """
            SELECT count(*) AS total,
              count(*) FILTER (WHERE deployment_state = 'READY') AS ready,
              count(*) FILTER (WHERE deployment_state = 'ERROR') AS error,
              count(*) FILTER (WHERE deployment_state = 'CANCELED') AS canceled,
              count(*) FILTER (WHERE deployment_state IN ('QUEUED', 'INITIALIZING', 'BUILDING', 'BLOCKED')) AS in_progress,
              count(*) FILTER (WHERE deployment_type = 'PRODUCTION') AS production,
              round(avg(build_duration_ms) FILTER (WHERE deployment_state = 'READY'))::bigint AS average_ms,
              round(percentile_cont(0.5) WITHIN GROUP (ORDER BY build_duration_ms) FILTER (WHERE deployment_state = 'READY'))::bigint AS median_ms,
              round(percentile_cont(0.95) WITHIN GROUP (ORDER BY build_duration_ms) FILTER (WHERE deployment_state = 'READY'))::bigint AS p95_ms
            FROM vercel_deployments
            WHERE project_id = \(projectID) AND created_at >= now() - interval '30 days'
            """)[0]
        let ready: Int = try row.decode("ready")
        let failed: Int = try row.decode("error")
        func optional(_ column: String) throws -> JSONValue { try row.decodeIfPresent(column, as: Int.self).map { .integer($0) } ?? .null }
        return .object([
            "periodDays": 30, "total": .integer(try row.decode("total")), "ready": .integer(ready), "error": .integer(failed),
            "canceled": .integer(try row.decode("canceled")), "inProgress": .integer(try row.decode("in_progress")),
            "production": .integer(try row.decode("production")),
            "successRate": ready + failed == 0 ? .null : .number((Double(ready) / Double(ready + failed) * 1000).rounded() / 1000),
            "averageBuildDurationMs": try optional("average_ms"), "medianBuildDurationMs": try optional("median_ms"),
            "p95BuildDurationMs": try optional("p95_ms"),
        ])
    }

    @Sendable static func get(_ request: Request, _ context: RequestContext, _ caller: PlatformCaller) throws -> Response {
        let projectID = try request.projectID()
        let store = DeploymentStore(database: context.database, logger: request.logger)
        var deployment = try store.require(try request.deploymentID(), projectID: projectID)
        var stale = false
        // A project unlinked since keeps its history, shown as it was last known.
        if !deployment.isSettled, let project = try LinkedProject.find(projectID, database: context.database) {
            do {
                let credentials = try context.vercelCredentials(
                    for: caller, connection: project.connectionID, requiring: "deployment:read", correlationID: request.requestID)
                let reported = try context.vercel().client.deployment(deployment.deploymentID, credentials, correlationID: request.requestID)
                deployment = try store.applyReported(reported, projectID: projectID) ?? deployment
            } catch let error as VercelError where error.isTransient {
                // What is stored is still worth showing; the caller learns it may be behind.
                request.logger.warning("deployment refresh failed", metadata: ["error.code": "\(error.code)"])
                stale = true
            }
        }
        return .json(JSONValue.object(["deployment": deployment.json, "stale": .bool(stale)]))
    }
}

extension VercelError {
    /// A failure that passes: rate limits, an open breaker, no answer, Vercel's own 5xx.
    var isTransient: Bool {
        switch self {
        case .rateLimited, .circuitOpen, .unreachable: true
        case .api(let status, _, _): status >= 500
        case .unauthorized, .missingFiles, .invalidResponse: false
        }
    }
}

extension Request {
    /// The `:deploymentId` of a deployment route.
    func deploymentID() throws -> String {
        guard let id = parameter("deploymentId"), (1...255).contains(id.utf8.count) else {
            throw HTTPError.notFound("This project has no such deployment", code: "DEPLOYMENT_NOT_FOUND")
        }
        return id
    }
}
