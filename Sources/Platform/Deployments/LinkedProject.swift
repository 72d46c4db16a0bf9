#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import FastCGI
import Postgres
import Vercel

/// A platform project and the Vercel project it is linked to: what deploys, promotions, env sync
/// and domains act on.
public struct LinkedProject: Sendable {
    public let projectID: UUID
    public let mappingID: UUID
    public let connectionID: UUID
    public let vercelProjectID: String
    public let vercelProjectName: String
    public let productionBranch: String
    public let repository: Repository?

    /// The git repository Vercel's project is connected to, as its `link` described it at link time.
    public struct Repository: Decodable, Sendable, Equatable {
        public let type: String?
        public let repo: String?
        public let org: String?
        public let repoId: Int?

        /// Vercel's `gitSource` for building `ref` (at `sha`, when given) of this repository.
        public func gitSource(ref: String, sha: String?) -> VercelDeploymentRequest.GitSource? {
            switch type {
            case "github":
                if let org, let repo { return .github(org: org, repo: repo, ref: ref, sha: sha) }
                return repoId.map { .githubRepoID(repoId: $0, ref: ref, sha: sha) }
            case "gitlab":
                return repoId.map { .gitlab(projectId: $0, ref: ref, sha: sha) }
            case "bitbucket":
                guard let org, let repo else { return nil }
                return .bitbucket(owner: org, slug: repo, ref: ref, sha: sha)
            default:
                return nil
            }
        }
    }

    /// The project's link.
    /// - Throws: 404 `PROJECT_NOT_LINKED` when the project is not linked to Vercel.
    public static func load(_ projectID: UUID, database: PostgresConnection) throws -> LinkedProject {
        guard let project = try find(projectID, database: database) else {
            throw HTTPError.notFound("This project is not linked to Vercel", code: "PROJECT_NOT_LINKED")
        }
        return project
    }

    /// The project's link, nil when it has none.
    public static func find(_ projectID: UUID, database: PostgresConnection) throws -> LinkedProject? {
        guard let row = try database.query(
            """
            SELECT id, vercel_connection_id, vercel_project_id, coalesce(vercel_project_name, vercel_project_id) AS name,
                   production_branch, git_repository::text AS repository
            FROM vercel_project_mappings WHERE project_id = \(projectID)
            """).first
        else { return nil }
        return LinkedProject(
            projectID: projectID, mappingID: try row.decode("id"), connectionID: try row.decode("vercel_connection_id"),
            vercelProjectID: try row.decode("vercel_project_id"), vercelProjectName: try row.decode("name"),
            productionBranch: try row.decode("production_branch"),
            repository: row["repository"].flatMap { try? JSONDecoder().decode(Repository.self, from: Data($0.utf8)) })
    }
}
