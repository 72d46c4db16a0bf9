import FastCGI
import Platform
import PlatformHost
import Vercel

/// `GET /v1/projects/:projectId/vercel/projects` (the user's Vercel projects, Vercel's cursor passed
/// through as `pagination.next`) and `GET /v1/projects/:projectId/vercel/projects/:vercelProjectId`.
enum VercelProjects {
    struct Page: Encodable {
        let projects: [VercelProject]
        let pagination: Pagination<VercelCursor>

    }

    @Sendable static func list(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        let limit = try call.limit()
        let cursor = try call.cursor { text -> VercelCursor? in
            guard (1...512).contains(text.utf8.count) else { return nil }
            return Int64(text).map { .number($0) } ?? .token(text)
        }
        let search = try call.query("search").map { text -> String in
            guard text.utf8.count <= 100 else { throw DeploymentsError.invalidSearch }
            return text
        }
        let credentials = try context.vercelCredentials(for: call, requiring: .readProject)
        let page = try context.vercel.projects(
            credentials, limit: limit, until: cursor, search: search)
        return .json(Page(projects: page.items, pagination: .init(next: page.next)))
    }

    /// `{"project": ..., "mapping": ... or null}`.
    struct Detail: Encodable {
        let project: VercelProject
        let mapping: ProjectLinkStore.Settings?

        func encode(to encoder: any Encoder) throws {
            enum Keys: String, CodingKey { case project, mapping }
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(project, forKey: .project)
            try container.encode(mapping, forKey: .mapping)
        }
    }

    @Sendable static func get(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        guard let id = call.parameter("vercelProjectId"), VercelIdentifier.isValid(id) else {
            throw DeploymentsError.invalidVercelProjectID
        }
        let credentials = try context.vercelCredentials(for: call, requiring: .readProject)
        let project = try context.vercel.project(id, credentials)
        // Reading the linked project is when its production branch is brought up to date.
        if let link = call.project?.link, link.vercelProjectID == project.id,
            let branch = project.link?.productionBranch,
            GitRef.isValidBranch(branch), branch != link.productionBranch
        {
            try context.projectLinks.productionBranchRead(call.projectID, branch: branch)
        }
        return .json(
            Detail(project: project, mapping: try context.projectLinks.settings(call.projectID, linkedTo: project.id)))
    }
}
