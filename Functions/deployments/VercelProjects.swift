#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import FastCGI
import Platform
import Vercel

/// `GET /v1/projects/:projectId/vercel/projects` (the user's Vercel projects, Vercel's cursor passed
/// through as `pagination.next`) and `GET /v1/projects/:projectId/vercel/projects/:vercelProjectId`.
enum VercelProjects {
    struct Page: Encodable {
        let projects: [VercelProject]
        let pagination: Pagination

        struct Pagination: Encodable {
            let next: VercelCursor?

            func encode(to encoder: any Encoder) throws {
                enum Keys: String, CodingKey { case next }
                var container = encoder.container(keyedBy: Keys.self)
                try container.encode(next, forKey: .next)
            }
        }
    }

    @Sendable static func list(_ request: Request, _ context: RequestContext, _ caller: PlatformCaller) throws -> Response {
        let limit = try request.query("limit").map { text -> Int in
            guard let value = Int(text), (1...100).contains(value) else { throw HTTPError.badRequest("limit must be 1 to 100", code: "INVALID_LIMIT") }
            return value
        } ?? 20
        let cursor = try request.query("cursor").map { text -> VercelCursor in
            guard (1...512).contains(text.utf8.count) else { throw HTTPError.badRequest("cursor is not a Vercel cursor", code: "INVALID_CURSOR") }
            return Int64(text).map { .number($0) } ?? .token(text)
        }
        let search = try request.query("search").map { text -> String in
            guard text.utf8.count <= 100 else { throw HTTPError.badRequest("search is at most 100 characters", code: "INVALID_SEARCH") }
            return text
        }
        let credentials = try context.vercelCredentials(for: caller, requiring: "project:read", correlationID: request.requestID)
        let page = try context.vercel().client.projects(credentials, limit: limit, until: cursor, search: search, correlationID: request.requestID)
        return .json(Page(projects: page.items, pagination: .init(next: page.next)))
    }

    @Sendable static func get(_ request: Request, _ context: RequestContext, _ caller: PlatformCaller) throws -> Response {
        guard let id = request.parameter("vercelProjectId"), (1...255).contains(id.utf8.count) else {
            throw HTTPError.badRequest("vercelProjectId is not a Vercel project id", code: "INVALID_VERCEL_PROJECT_ID")
        }
        let credentials = try context.vercelCredentials(for: caller, requiring: "project:read", correlationID: request.requestID)
        let project = try context.vercel().client.project(id, credentials, correlationID: request.requestID)
        let row = try context.database.query(
            """
            SELECT id, framework, production_branch, auto_deploy, array_to_json(deployment_branch_patterns)::text AS patterns,
                   array_to_json(environment_target)::text AS targets
            FROM vercel_project_mappings WHERE project_id = \(try request.projectID()) AND vercel_project_id = \(project.id)
            """).first
        let mapping = try row.map { row in
            Mapping(
                id: (try row.decode("id", as: UUID.self)).uuidString.lowercased(), framework: row["framework"], productionBranch: try row.decode("production_branch"),
                autoDeployEnabled: try row.decode("auto_deploy"),
                deploymentBranchPatterns: (try? JSONDecoder().decode([String].self, from: Data((row["patterns"] ?? "[]").utf8))) ?? [],
                environmentTargets: (try? JSONDecoder().decode([String].self, from: Data((row["targets"] ?? "[]").utf8))) ?? [])
        }
        return .json(Detail(project: project, mapping: mapping))
    }

    struct Mapping: Encodable {
        let id: String
        let framework: String?
        let productionBranch: String
        let autoDeployEnabled: Bool
        let deploymentBranchPatterns: [String]
        let environmentTargets: [String]
    }

    /// `{"project": ..., "mapping": ... or null}`.
    struct Detail: Encodable {
        let project: VercelProject
        let mapping: Mapping?

        func encode(to encoder: any Encoder) throws {
            enum Keys: String, CodingKey { case project, mapping }
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(project, forKey: .project)
            try container.encode(mapping, forKey: .mapping)
        }
    }
}
