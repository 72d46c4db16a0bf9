import Vercel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A platform project and the Vercel project it is linked to: what deploys, promotions, env sync
/// and domains act on.
public struct LinkedProject: Sendable {
    public init(
        projectID: UUID, mappingID: UUID, connectionID: UUID, vercelProjectID: String, vercelProjectName: String,
        productionBranch: String, repository: Repository?
    ) {
        self.projectID = projectID
        self.mappingID = mappingID
        self.connectionID = connectionID
        self.vercelProjectID = vercelProjectID
        self.vercelProjectName = vercelProjectName
        self.productionBranch = productionBranch
        self.repository = repository
    }

    public let projectID: UUID
    public let mappingID: UUID
    public let connectionID: UUID
    public let vercelProjectID: String
    public let vercelProjectName: String
    public let productionBranch: String
    public let repository: Repository?
    /// When `productionBranch` was last read from Vercel; nil when never.
    public var productionBranchCheckedAt: Date? = nil

    /// The git repository Vercel's project is connected to, as its `link` described it at link time.
    public struct Repository: Codable, Sendable, Equatable {
        public let type: String?
        public let repo: String?
        public let org: String?
        public let repoId: Int?

        public init(type: String?, repo: String?, org: String?, repoId: Int?) {
            self.type = type
            self.repo = repo
            self.org = org
            self.repoId = repoId
        }

        /// `org/repo`, or the repo alone.
        public var fullName: String? { repo.map { [org, $0].compactMap { $0 }.joined(separator: "/") } }

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
}
