#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What a git provider's webhook delivery says, in one shape for the three providers: the
/// repository it is about and each branch change it carries (Bitbucket can carry several).
public struct GitDelivery: Sendable, Equatable {
    public let provider: GitProvider
    /// The provider's name for the event (`push`, `Merge Request Hook`, `repo:push`…).
    public let event: String
    /// The repository's full name (`owner/name`, or GitLab's `group/subgroup/name`); nil when the
    /// body names none (a GitHub `ping` of an organization hook).
    public let repository: String?
    public let changes: [Change]

    /// At most this many changes of one delivery are looked at; the rest are reported as ignored.
    public static let changeLimit = 20

    public struct Change: Sendable, Equatable {
        /// `push`, `pull_request`, `merge_request`, or the event's own name when it deploys nothing.
        public var kind: String
        public var branch: String?
        public var commitSha: String?
        public var commitMessage: String?
        public var committedAt: Date?
        public var prNumber: Int?
        /// A pull request whose head lives in another repository.
        public var fromFork = false
        /// Why this change deploys nothing whatever the rules say; nil when the rules decide.
        public var ignored: String?

        public init(kind: String, ignored: String? = nil) {
            self.kind = kind
            self.ignored = ignored
        }

        /// What the deployment is for: a branch's pushes or a pull request, which approvals key on.
        public var subject: String {
            if let prNumber { return "pr:\(prNumber)" }
            return "push:\(branch ?? "")"
        }
    }

    /// Reads a delivery. Nil when the body is not the JSON the event promises.
    public static func parse(_ provider: GitProvider, event: String, body: [UInt8]) -> GitDelivery? {
        let data = Data(body)
        let decoder = JSONDecoder()
        switch provider {
        case .github: return github(event, data, decoder)
        case .gitlab: return gitlab(event, data, decoder)
        case .bitbucket: return bitbucket(event, data, decoder)
        }
    }

    /// Only the repository's name, read before the proof is checked to find whose secret to check
    /// it with; nothing else of an unproven body is used.
    public static func repositoryName(_ provider: GitProvider, body: [UInt8]) -> String? {
        let decoder = JSONDecoder()
        let data = Data(body)
        switch provider {
        case .github, .bitbucket:
            return (try? decoder.decode(Named.self, from: data))?.repository?.fullName
        case .gitlab:
            return (try? decoder.decode(GitLabNamed.self, from: data))?.project?.pathWithNamespace
        }
    }

    static let zeroSha = String(repeating: "0", count: 40)

    /// An event that never deploys: recorded as ignored, with its name.
    private static func other(_ provider: GitProvider, _ event: String, repository: String?) -> GitDelivery {
        GitDelivery(
            provider: provider, event: event, repository: repository,
            changes: [Change(kind: String(event.prefix(100)), ignored: "'\(event.prefix(50))' events deploy nothing")])
    }

    private static func github(_ event: String, _ data: Data, _ decoder: JSONDecoder) -> GitDelivery? {
        switch event {
        case "push":
            guard let push = try? decoder.decode(GitHubPush.self, from: data) else { return nil }
            var change = Change(kind: "push")
            change.commitSha = push.after.lowercased()
            change.commitMessage = push.headCommit?.message
            change.committedAt = push.headCommit?.timestamp.flatMap { try? Date($0, strategy: .iso8601) }
            if push.ref.hasPrefix("refs/heads/") {
                change.branch = String(push.ref.dropFirst(11))
                if push.deleted == true || push.after == zeroSha { change.ignored = "the branch was deleted" }
            } else {
                change.kind = "tag_push"
                change.ignored = push.after == zeroSha ? "a tag was deleted" : "tags do not deploy"
            }
            return GitDelivery(provider: .github, event: event, repository: push.repository.fullName, changes: [change])
        case "pull_request":
            guard let event = try? decoder.decode(GitHubPullRequest.self, from: data) else { return nil }
            var change = Change(kind: "pull_request")
            change.prNumber = event.number
            change.branch = event.pullRequest.head.ref
            change.commitSha = event.pullRequest.head.sha.lowercased()
            let head = event.pullRequest.head.repo?.fullName?.lowercased()
            change.fromFork = head == nil || head != event.pullRequest.base.repo?.fullName?.lowercased()
            switch event.action {
            case "opened", "synchronize", "reopened": break
            case "closed": change.ignored = "a closed or merged pull request deploys nothing"
            default: change.ignored = "pull request action '\(event.action.prefix(50))' deploys nothing"
            }
            return GitDelivery(
                provider: .github, event: "pull_request", repository: event.repository.fullName, changes: [change])
        default:
            return other(.github, event, repository: repositoryName(.github, body: Array(data)))
        }
    }

    private static func gitlab(_ event: String, _ data: Data, _ decoder: JSONDecoder) -> GitDelivery? {
        switch event {
        case "Push Hook", "Tag Push Hook":
            guard let push = try? decoder.decode(GitLabPush.self, from: data) else { return nil }
            var change = Change(kind: event == "Push Hook" ? "push" : "tag_push")
            change.commitSha = push.after.lowercased()
            let head = push.commits?.last { $0.id == push.after } ?? push.commits?.last
            change.commitMessage = head?.message
            change.committedAt = head?.timestamp.flatMap { try? Date($0, strategy: .iso8601) }
            if event == "Push Hook", push.ref.hasPrefix("refs/heads/") {
                change.branch = String(push.ref.dropFirst(11))
                if push.after == zeroSha || push.checkoutSha == nil { change.ignored = "the branch was deleted" }
            } else {
                change.kind = "tag_push"
                change.ignored = "tags do not deploy"
            }
            return GitDelivery(
                provider: .gitlab, event: event, repository: push.project.pathWithNamespace, changes: [change])
        case "Merge Request Hook":
            guard let event = try? decoder.decode(GitLabMergeRequest.self, from: data) else { return nil }
            let request = event.objectAttributes
            var change = Change(kind: "merge_request")
            change.prNumber = request.iid
            change.branch = request.sourceBranch
            change.commitSha = request.lastCommit?.id.lowercased()
            change.commitMessage = request.lastCommit?.message
            change.committedAt = request.lastCommit?.timestamp.flatMap { try? Date($0, strategy: .iso8601) }
            // Missing evidence is a fork, as for the other providers: only two ids that agree say
            // the branch is the repository's own.
            change.fromFork =
                request.sourceProjectId == nil || request.targetProjectId == nil
                || request.sourceProjectId != request.targetProjectId
            switch request.action {
            case "open", "reopen": break
            case "update" where request.oldrev != nil: break
            case "update": change.ignored = "a merge request update without new commits deploys nothing"
            case "close", "merge": change.ignored = "a closed or merged merge request deploys nothing"
            default: change.ignored = "merge request action '\((request.action ?? "none").prefix(50))' deploys nothing"
            }
            if change.commitSha == nil, change.ignored == nil { change.ignored = "the merge request names no commit" }
            return GitDelivery(
                provider: .gitlab, event: "Merge Request Hook", repository: event.project.pathWithNamespace,
                changes: [change])
        default:
            return other(.gitlab, event, repository: repositoryName(.gitlab, body: Array(data)))
        }
    }

    private static func bitbucket(_ event: String, _ data: Data, _ decoder: JSONDecoder) -> GitDelivery? {
        switch event {
        case "repo:push":
            guard let push = try? decoder.decode(BitbucketPush.self, from: data) else { return nil }
            let changes = push.push.changes.enumerated().map { index, item -> Change in
                var change = Change(kind: "push")
                guard index < changeLimit else {
                    change.ignored = "more than \(changeLimit) changes in one push"
                    return change
                }
                guard let new = item.new else {
                    change.branch = item.old?.type == "branch" ? item.old?.name : nil
                    change.kind = item.old?.type == "tag" ? "tag_push" : "push"
                    change.ignored = item.old?.type == "tag" ? "a tag was deleted" : "the branch was deleted"
                    return change
                }
                change.commitSha = new.target?.hash.lowercased()
                change.commitMessage = new.target?.message
                change.committedAt = new.target?.date.flatMap { try? Date($0, strategy: .iso8601) }
                if new.type == "branch" {
                    change.branch = new.name
                } else {
                    change.kind = "tag_push"
                    change.ignored = "tags do not deploy"
                }
                return change
            }
            return GitDelivery(
                provider: .bitbucket, event: event, repository: push.repository.fullName, changes: changes)
        case "pullrequest:created", "pullrequest:updated", "pullrequest:fulfilled", "pullrequest:rejected":
            guard let payload = try? decoder.decode(BitbucketPullRequest.self, from: data) else { return nil }
            let request = payload.pullrequest
            var change = Change(kind: "pull_request")
            change.prNumber = request.id
            change.branch = request.source.branch?.name
            change.commitSha = request.source.commit?.hash.lowercased()
            let head = request.source.repository?.fullName?.lowercased()
            change.fromFork = head == nil || head != request.destination.repository?.fullName?.lowercased()
            if event == "pullrequest:fulfilled" || event == "pullrequest:rejected" {
                change.ignored = "a merged or declined pull request deploys nothing"
            } else if change.commitSha == nil {
                change.ignored = "the pull request names no commit"
            }
            return GitDelivery(
                provider: .bitbucket, event: event, repository: payload.repository.fullName, changes: [change])
        default:
            return other(.bitbucket, event, repository: repositoryName(.bitbucket, body: Array(data)))
        }
    }
}

// The parts of each provider's payloads that are read.

private struct Named: Decodable {
    let repository: Repository?
}

private struct Repository: Decodable {
    let fullName: String?
    enum CodingKeys: String, CodingKey { case fullName = "full_name" }
}

private struct GitLabNamed: Decodable {
    let project: GitLabProject?
}

private struct GitLabProject: Decodable {
    let pathWithNamespace: String
    enum CodingKeys: String, CodingKey { case pathWithNamespace = "path_with_namespace" }
}

private struct GitHubPush: Decodable {
    let ref: String
    let after: String
    let deleted: Bool?
    let headCommit: Commit?
    let repository: Repository

    struct Commit: Decodable {
        let message: String?
        let timestamp: String?
    }

    enum CodingKeys: String, CodingKey {
        case ref, after, deleted, repository
        case headCommit = "head_commit"
    }
}

private struct GitHubPullRequest: Decodable {
    let action: String
    let number: Int
    let pullRequest: PullRequest
    let repository: Repository

    struct PullRequest: Decodable {
        let head: Ref
        let base: Ref
    }

    struct Ref: Decodable {
        let ref: String
        let sha: String
        let repo: Repository?
    }

    enum CodingKeys: String, CodingKey {
        case action, number, repository
        case pullRequest = "pull_request"
    }
}

private struct GitLabPush: Decodable {
    let ref: String
    let after: String
    let checkoutSha: String?
    let commits: [Commit]?
    let project: GitLabProject

    enum CodingKeys: String, CodingKey {
        case ref, after, commits, project
        case checkoutSha = "checkout_sha"
    }
}

private struct Commit: Decodable {
    let id: String
    let message: String?
    let timestamp: String?
}

private struct GitLabMergeRequest: Decodable {
    let objectAttributes: Attributes
    let project: GitLabProject

    struct Attributes: Decodable {
        let iid: Int
        let action: String?
        let sourceBranch: String
        let sourceProjectId: Int?
        let targetProjectId: Int?
        let lastCommit: Commit?
        let oldrev: String?

        enum CodingKeys: String, CodingKey {
            case iid, action, oldrev
            case sourceBranch = "source_branch"
            case sourceProjectId = "source_project_id"
            case targetProjectId = "target_project_id"
            case lastCommit = "last_commit"
        }
    }

    enum CodingKeys: String, CodingKey {
        case project
        case objectAttributes = "object_attributes"
    }
}

private struct BitbucketPush: Decodable {
    let repository: Repository
    let push: Push

    struct Push: Decodable {
        let changes: [Change]
    }

    struct Change: Decodable {
        let new: Ref?
        let old: Ref?
    }

    struct Ref: Decodable {
        let type: String
        let name: String
        let target: Target?
    }

    struct Target: Decodable {
        let hash: String
        let message: String?
        let date: String?
    }
}

private struct BitbucketPullRequest: Decodable {
    let repository: Repository
    let pullrequest: PullRequest

    struct PullRequest: Decodable {
        let id: Int
        let source: End
        let destination: End
    }

    struct End: Decodable {
        let branch: Branch?
        let commit: Hash?
        let repository: Repository?
    }

    struct Branch: Decodable {
        let name: String
    }

    struct Hash: Decodable {
        let hash: String
    }
}
