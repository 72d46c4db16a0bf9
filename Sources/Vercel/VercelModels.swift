/// The fields of Vercel's objects that this service reads (names as in Vercel's REST API
/// reference and `vercel/sdk` models); everything else Vercel sends is ignored.
public struct VercelUser: Codable, Sendable, Equatable {
    public let id: String
    public let email: String
    public let name: String?
    public let username: String
}

public struct VercelTeam: Codable, Sendable, Equatable {
    public let id: String
    public let slug: String
    public let name: String?
}

public struct VercelProject: Codable, Sendable, Equatable {
    public let id: String
    public let name: String
    public let accountId: String?
    public let framework: String?
    public let nodeVersion: String?
    public let buildCommand: String?
    public let outputDirectory: String?
    public let installCommand: String?
    public let devCommand: String?
    public let rootDirectory: String?
    public let createdAt: Int64?
    public let updatedAt: Int64?
    public let link: Link?

    /// The git repository a project is connected to. `type` is github, github-limited,
    /// github-custom-host, gitlab, bitbucket, vercel or cursor-origin (others are kept as sent);
    /// `repoId` is a number for github and gitlab and a string for cursor-origin, read as text.
    public struct Link: Codable, Sendable, Equatable {
        public let type: String?
        public let repo: String?
        public let org: String?
        public let repoId: String?
        public let productionBranch: String?

        public init(type: String?, repo: String?, org: String?, repoId: String?, productionBranch: String?) {
            self.type = type
            self.repo = repo
            self.org = org
            self.repoId = repoId
            self.productionBranch = productionBranch
        }

        private enum ProviderKeys: String, CodingKey {
            case projectId, projectName, projectNamespace, owner, slug
        }

        /// GitLab names the repository `projectNamespace`/`projectName` with a `projectId`,
        /// Bitbucket `owner`/`slug`; both are read into `org`, `repo` and `repoId`.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            let provider = try decoder.container(keyedBy: ProviderKeys.self)
            func text(_ key: ProviderKeys) -> String? {
                (try? provider.decodeIfPresent(String.self, forKey: key)) ?? nil
            }
            type = try container.decodeIfPresent(String.self, forKey: .type)
            repo = (try? container.decodeIfPresent(String.self, forKey: .repo)) ?? text(.projectName) ?? text(.slug)
            org = (try? container.decodeIfPresent(String.self, forKey: .org)) ?? text(.projectNamespace) ?? text(.owner)
            repoId = (try? container.identifier(.repoId)) ?? (try? provider.identifier(.projectId)) ?? nil
            productionBranch = try? container.decodeIfPresent(String.self, forKey: .productionBranch)
        }
    }
}

extension VercelProject {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        name = try container.decode(String.self, forKey: .name)
        accountId = try? container.decodeIfPresent(String.self, forKey: .accountId)
        framework = try? container.decodeIfPresent(String.self, forKey: .framework)
        nodeVersion = try? container.decodeIfPresent(String.self, forKey: .nodeVersion)
        buildCommand = try? container.decodeIfPresent(String.self, forKey: .buildCommand)
        outputDirectory = try? container.decodeIfPresent(String.self, forKey: .outputDirectory)
        installCommand = try? container.decodeIfPresent(String.self, forKey: .installCommand)
        devCommand = try? container.decodeIfPresent(String.self, forKey: .devCommand)
        rootDirectory = try? container.decodeIfPresent(String.self, forKey: .rootDirectory)
        createdAt = try? container.milliseconds(.createdAt)
        updatedAt = try? container.milliseconds(.updatedAt)
        link = try? container.decodeIfPresent(Link.self, forKey: .link)
    }
}

/// Settings of a project to create or change. Vercel takes `nodeVersion` only on update.
public struct VercelProjectSettings: Codable, Sendable, Equatable {
    public var name: String?
    public var framework: String?
    public var buildCommand: String?
    public var outputDirectory: String?
    public var installCommand: String?
    public var devCommand: String?
    public var rootDirectory: String?
    public var nodeVersion: String?
    /// The repository to connect at create: `{type: "github", repo: "org/name"}`.
    public var gitRepository: GitRepository?

    public struct GitRepository: Codable, Sendable, Equatable {
        public let type: String
        public let repo: String

        public init(type: String, repo: String) {
            self.type = type
            self.repo = repo
        }
    }

    public init(
        name: String? = nil, framework: String? = nil, buildCommand: String? = nil, outputDirectory: String? = nil,
        installCommand: String? = nil, devCommand: String? = nil, rootDirectory: String? = nil,
        nodeVersion: String? = nil,
        gitRepository: GitRepository? = nil
    ) {
        self.name = name
        self.framework = framework
        self.buildCommand = buildCommand
        self.outputDirectory = outputDirectory
        self.installCommand = installCommand
        self.devCommand = devCommand
        self.rootDirectory = rootDirectory
        self.nodeVersion = nodeVersion
        self.gitRepository = gitRepository
    }
}

/// Vercel's page cursor: `pagination.next` is a timestamp on most lists and an opaque string on
/// some; either is passed back unchanged as `until`.
public enum VercelCursor: Codable, Sendable, Equatable, CustomStringConvertible {
    case number(Int64)
    case token(String)

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Int64.self) {
            self = .number(number)
        } else {
            self = .token(try container.decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .number(let number): try container.encode(number)
        case .token(let token): try container.encode(token)
        }
    }

    public var description: String {
        switch self {
        case .number(let number): "\(number)"
        case .token(let token): token
        }
    }
}

public struct VercelPagination: Codable, Sendable, Equatable {
    public let count: Int?
    public let next: VercelCursor?
    public let prev: VercelCursor?
}

/// One page of a list and the cursor of the next page, nil on the last.
public struct VercelPage<Item: Sendable>: Sendable {
    public let items: [Item]
    public let next: VercelCursor?
}
