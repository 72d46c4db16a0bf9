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
    /// `repoId` is kept as text: a number for github and gitlab, a string for cursor-origin (links
    /// stored before were numbers and read the same).
    public struct Repository: Codable, Sendable, Equatable {
        public let type: String?
        public let repo: String?
        public let org: String?
        public let repoId: String?

        public init(type: String?, repo: String?, org: String?, repoId: String?) {
            self.type = type
            self.repo = repo
            self.org = org
            self.repoId = repoId
        }

        public init(_ link: VercelProject.Link) {
            self.init(type: link.type, repo: link.repo, org: link.org, repoId: link.repoId)
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            type = try container.decodeIfPresent(String.self, forKey: .type)
            repo = try container.decodeIfPresent(String.self, forKey: .repo)
            org = try container.decodeIfPresent(String.self, forKey: .org)
            repoId = try container.identifier(.repoId)
        }

        private var numericRepoID: Int? { repoId.flatMap { Int($0) } }

        /// `org/repo`, or the repo alone.
        public var fullName: String? { repo.map { [org, $0].compactMap { $0 }.joined(separator: "/") } }

        /// Vercel's `gitSource` for building `ref` (at `sha`, when given) of this repository.
        public func gitSource(ref: String, sha: String?) -> VercelDeploymentRequest.GitSource? {
            switch type {
            case "github":
                if let org, let repo { return .github(org: org, repo: repo, ref: ref, sha: sha) }
                return numericRepoID.map { .githubRepoID(repoId: $0, ref: ref, sha: sha) }
            case "gitlab":
                return numericRepoID.map { .gitlab(projectId: $0, ref: ref, sha: sha) }
            case "bitbucket":
                guard let org, let repo else { return nil }
                return .bitbucket(owner: org, slug: repo, ref: ref, sha: sha)
            default:
                return nil
            }
        }
    }
}
