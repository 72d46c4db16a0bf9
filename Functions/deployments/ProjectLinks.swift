#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import FastCGI
import Platform
import Postgres
import Vercel

/// `POST /v1/projects/:projectId/vercel/projects/link` and `.../unlink`: a platform project linked
/// to one Vercel project (an existing one, or one created with the framework and build settings
/// detected from the project's files), with its branch patterns and environment targets.
enum ProjectLinks {
    struct LinkBody: Decodable {
        let userId: String
        let vercelProjectId: String?
        let createProject: NewProject?
        let framework: String?
        let autoDeployEnabled: Bool?
        let deploymentBranchPatterns: [String]?
        let environmentTargets: [String]?

        struct NewProject: Decodable {
            let name: String
            let framework: String?
        }
    }

    struct Linked: Encodable {
        let linked: Bool
        let mappingId: String
        let webhookUrl: String
        let vercelProjectId: String
        let framework: String?
    }

    @Sendable static func link(_ request: Request, _ context: RequestContext, _ caller: PlatformCaller) throws -> Response {
        let body = try request.decodeJSON(LinkBody.self)
        let projectID = try request.projectID()
        guard (body.vercelProjectId == nil) != (body.createProject == nil) else {
            throw HTTPError.badRequest("Send either vercelProjectId or createProject", code: "INVALID_LINK")
        }
        let patterns = body.deploymentBranchPatterns ?? []
        guard patterns.count <= 50, patterns.allSatisfy({ (1...255).contains($0.utf8.count) }) else {
            throw HTTPError.badRequest("deploymentBranchPatterns: at most 50 patterns of 1 to 255 characters", code: "INVALID_BRANCH_PATTERNS")
        }
        let targets = body.environmentTargets ?? ["production", "preview"]
        guard !targets.isEmpty, Set(targets).isSubset(of: ["production", "preview", "development"]) else {
            throw HTTPError.badRequest("environmentTargets must be production, preview or development", code: "INVALID_ENVIRONMENT_TARGETS")
        }
        if try !context.database.query("SELECT 1 AS linked FROM vercel_project_mappings WHERE project_id = \(projectID)").isEmpty {
            throw HTTPError(409, code: "PROJECT_ALREADY_LINKED", message: "This project is already linked to a Vercel project; unlink it first")
        }

        let detected = ProcessInfo.processInfo.environment["SHEEN_PROJECTS_ROOT"].map { root in
            FrameworkDetection.detect(in: URL(fileURLWithPath: root).appendingPathComponent(projectID.uuidString.lowercased()))
        }
        let framework = body.framework ?? body.createProject?.framework ?? detected?.framework
        let client = try context.vercel().client
        let credentials = try context.vercelCredentials(
            for: caller, requiring: body.createProject == nil ? "project:read" : "project:write", correlationID: request.requestID)
        let project: VercelProject
        if let new = body.createProject {
            project = try client.createProject(
                VercelProjectSettings(
                    name: new.name, framework: framework, buildCommand: detected?.buildCommand, outputDirectory: detected?.outputDirectory,
                    installCommand: detected?.installCommand, devCommand: detected?.devCommand),
                credentials, correlationID: request.requestID)
        } else {
            project = try client.project(body.vercelProjectId!, credentials, correlationID: request.requestID)
        }

        let repository = project.link.map { link in
            String(decoding: JSONValue.object([
                "type": link.type.map { .string($0) } ?? .null, "repo": link.repo.map { .string($0) } ?? .null,
                "org": link.org.map { .string($0) } ?? .null, "repoId": link.repoId.map { .integer($0) } ?? .null,
            ]).serialized(), as: UTF8.self)
        }
        let mapping: UUID
        do {
            mapping = try context.database.query(
                """
                INSERT INTO vercel_project_mappings (project_id, vercel_connection_id, vercel_project_id, vercel_project_name, framework,
                  node_version, build_command, output_directory, install_command, dev_command, root_directory, production_branch,
                  git_repository, environment_target, auto_deploy, deployment_branch_patterns)
                VALUES (\(projectID), \(credentials.connectionID!), \(project.id), \(project.name), \(framework ?? project.framework),
                  \(project.nodeVersion), \(project.buildCommand ?? detected?.buildCommand), \(project.outputDirectory ?? detected?.outputDirectory),
                  \(project.installCommand ?? detected?.installCommand), \(project.devCommand ?? detected?.devCommand), \(project.rootDirectory),
                  \(project.link?.productionBranch ?? "main"), \(repository)::jsonb, \(targets)::vercel_env_target[],
                  \(body.autoDeployEnabled ?? true), \(patterns))
                RETURNING id
                """)[0].decode("id")
        } catch let error as PostgresError where error.isUniqueViolation {
            throw HTTPError(409, code: "VERCEL_PROJECT_ALREADY_LINKED", message: "That Vercel project is already linked to a project")
        }
        try SecurityAudit.record(
            "VERCEL_PROJECT_LINKED", severity: "LOW", actor: caller, projectID: projectID.uuidString.lowercased(),
            details: JSONValue.object(["vercelProjectId": .string(project.id)]).serializedText,
            correlationID: request.requestID, database: context.database)
        let base = ProcessInfo.processInfo.environment["SHEEN_BASE_URL"] ?? ""
        return .json(Linked(
            linked: true, mappingId: mapping.uuidString.lowercased(), webhookUrl: base + "/v1/webhooks/vercel", vercelProjectId: project.id,
            framework: framework ?? project.framework))
    }

    @Sendable static func unlink(_ request: Request, _ context: RequestContext, _ caller: PlatformCaller) throws -> Response {
        let projectID = try request.projectID()
        let removed = try context.database.query("DELETE FROM vercel_project_mappings WHERE project_id = \(projectID) RETURNING vercel_project_id")
        guard let row = removed.first else {
            throw HTTPError.notFound("This project is not linked to Vercel", code: "PROJECT_NOT_LINKED")
        }
        try SecurityAudit.record(
            "VERCEL_PROJECT_UNLINKED", severity: "LOW", actor: caller, projectID: projectID.uuidString.lowercased(),
            details: JSONValue.object(["vercelProjectId": .string(row["vercel_project_id"] ?? "")]).serializedText,
            correlationID: request.requestID, database: context.database)
        return .json(JSONValue.object(["unlinked": true]))
    }
}
