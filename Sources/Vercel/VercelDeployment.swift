/// A deployment as `POST /v13/deployments` and `GET /v13/deployments/{idOrUrl}` return it. States
/// and substates Vercel adds later are kept as sent.
public struct VercelDeployment: Codable, Sendable, Equatable {
    public let id: String
    public let url: String
    public let name: String
    public let projectId: String?
    public let readyState: String
    /// With READY: `STAGED` (built, never served production), `ROLLING` or `PROMOTED`; nil when
    /// Vercel does not say.
    public let readySubstate: String?
    public let createdAt: Int64
    public let ready: Int64?
    public let target: String?
    public let alias: [String]?
    public let meta: [String: String]?
    public let errorCode: String?
    public let errorMessage: String?
    public let errorStep: String?
    public let inspectorUrl: String?
    /// When the build started (epoch ms).
    public let buildingAt: Int64?
    /// `out-of-memory` when the build ran out of memory.
    public let oomReport: String?
    public let creator: VercelCreator?
    public let regions: [String]?
    /// `LAMBDAS`.
    public let type: String?
    public let ownerId: String?
    /// The checks integrations registered, taken together: `registered`, `running` or
    /// `completed`; nil when there are none.
    public let checksState: String?
    /// Once they completed: `succeeded`, `failed`, `skipped` or `canceled`.
    public let checksConclusion: String?

    /// READY, ERROR and CANCELED do not change any more (READY may still be canceled by a person).
    public var isBuildOver: Bool { ["READY", "ERROR", "CANCELED"].contains(readyState) }

    /// Built and never served production: a READY deployment Vercel staged.
    public var isStaged: Bool { readyState == "READY" && readySubstate == "STAGED" }
}

extension VercelDeployment {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        url = try container.decode(String.self, forKey: .url)
        name = try container.decode(String.self, forKey: .name)
        projectId = try? container.decodeIfPresent(String.self, forKey: .projectId)
        readyState = try container.decode(String.self, forKey: .readyState)
        readySubstate = try? container.decodeIfPresent(String.self, forKey: .readySubstate)
        createdAt = try container.requiredMilliseconds(.createdAt)
        ready = try? container.milliseconds(.ready)
        target = try? container.decodeIfPresent(String.self, forKey: .target)
        alias = try? container.decodeIfPresent([String].self, forKey: .alias)
        meta = try? container.decodeIfPresent([String: String].self, forKey: .meta)
        errorCode = try? container.decodeIfPresent(String.self, forKey: .errorCode)
        errorMessage = try? container.decodeIfPresent(String.self, forKey: .errorMessage)
        errorStep = try? container.decodeIfPresent(String.self, forKey: .errorStep)
        inspectorUrl = try? container.decodeIfPresent(String.self, forKey: .inspectorUrl)
        buildingAt = try? container.milliseconds(.buildingAt)
        oomReport = try? container.decodeIfPresent(String.self, forKey: .oomReport)
        creator = try? container.decodeIfPresent(VercelCreator.self, forKey: .creator)
        regions = try? container.decodeIfPresent([String].self, forKey: .regions)
        type = try? container.decodeIfPresent(String.self, forKey: .type)
        ownerId = try? container.decodeIfPresent(String.self, forKey: .ownerId)
        checksState = try? container.decodeIfPresent(String.self, forKey: .checksState)
        checksConclusion = try? container.decodeIfPresent(String.self, forKey: .checksConclusion)
    }
}

/// Who made a deployment.
public struct VercelCreator: Codable, Sendable, Equatable {
    public let uid: String
    public let username: String?
}

/// An item of `GET /v6/deployments`, whose field names differ from the detail's. Its states
/// include `DELETED`.
public struct VercelDeploymentSummary: Codable, Sendable, Equatable {
    public let uid: String
    public let name: String
    public let url: String
    public let created: Int64
    public let state: String?
    public let readyState: String?
    public let readySubstate: String?
    public let target: String?
    public let projectId: String?
    public let creator: VercelCreator?
    public let type: String?
    public let inspectorUrl: String?
}

extension VercelDeploymentSummary {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        uid = try container.decode(String.self, forKey: .uid)
        name = try container.decode(String.self, forKey: .name)
        url = try container.decode(String.self, forKey: .url)
        created = try container.requiredMilliseconds(.created)
        state = try? container.decodeIfPresent(String.self, forKey: .state)
        readyState = try? container.decodeIfPresent(String.self, forKey: .readyState)
        readySubstate = try? container.decodeIfPresent(String.self, forKey: .readySubstate)
        target = try? container.decodeIfPresent(String.self, forKey: .target)
        projectId = try? container.decodeIfPresent(String.self, forKey: .projectId)
        creator = try? container.decodeIfPresent(VercelCreator.self, forKey: .creator)
        type = try? container.decodeIfPresent(String.self, forKey: .type)
        inspectorUrl = try? container.decodeIfPresent(String.self, forKey: .inspectorUrl)
    }
}

/// What `POST /v13/deployments` is asked to build: files already uploaded, or a git source.
public struct VercelDeploymentRequest: Encodable, Sendable {
    public var name: String
    public var project: String?
    /// `production`, `staging`, or nil for a preview.
    public var target: String?
    public var files: [File]?
    public var gitSource: GitSource?
    public var meta: [String: String]?

    public struct File: Encodable, Sendable, Equatable {
        public let file: String
        public let sha: String
        public let size: Int
    }

    /// One of Vercel's git source shapes.
    public enum GitSource: Encodable, Sendable, Equatable {
        case github(org: String, repo: String, ref: String, sha: String?)
        case githubRepoID(repoId: Int, ref: String, sha: String?)
        case gitlab(projectId: Int, ref: String, sha: String?)
        case bitbucket(owner: String, slug: String, ref: String, sha: String?)

        enum Keys: String, CodingKey { case type, org, repo, repoId, projectId, owner, slug, ref, sha }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            switch self {
            case .github(let org, let repo, let ref, let sha):
                try container.encode("github", forKey: .type)
                try container.encode(org, forKey: .org)
                try container.encode(repo, forKey: .repo)
                try container.encode(ref, forKey: .ref)
                try container.encodeIfPresent(sha, forKey: .sha)
            case .githubRepoID(let repoId, let ref, let sha):
                try container.encode("github", forKey: .type)
                try container.encode(repoId, forKey: .repoId)
                try container.encode(ref, forKey: .ref)
                try container.encodeIfPresent(sha, forKey: .sha)
            case .gitlab(let projectId, let ref, let sha):
                try container.encode("gitlab", forKey: .type)
                try container.encode(projectId, forKey: .projectId)
                try container.encode(ref, forKey: .ref)
                try container.encodeIfPresent(sha, forKey: .sha)
            case .bitbucket(let owner, let slug, let ref, let sha):
                try container.encode("bitbucket", forKey: .type)
                try container.encode(owner, forKey: .owner)
                try container.encode(slug, forKey: .slug)
                try container.encode(ref, forKey: .ref)
                try container.encodeIfPresent(sha, forKey: .sha)
            }
        }
    }

    public init(
        name: String, project: String? = nil, target: String? = nil, files: [File]? = nil, gitSource: GitSource? = nil,
        meta: [String: String]? = nil
    ) {
        self.name = name
        self.project = project
        self.target = target
        self.files = files
        self.gitSource = gitSource
        self.meta = meta
    }
}

/// A file of a deployment from disk: its path in the deployment and its bytes.
public struct DeploymentFile: Sendable {
    public let path: String
    public let bytes: [UInt8]

    public init(path: String, bytes: [UInt8]) {
        self.path = path
        self.bytes = bytes
    }
}

/// What a file deployment sent.
public struct UploadReport: Sendable, Equatable {
    public var filesUploaded = 0
    public var bytesUploaded = 0
}
