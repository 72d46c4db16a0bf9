/// An environment variable as Vercel lists it. `value` is empty for anything but `plain`:
/// listings never carry secrets (`decrypt` is deprecated and not used). Vercel may leave out `id`
/// (then the variable can be read but not changed by id) and `target`; it sends `target` as one
/// string or an array; a variable of a custom environment names it in `customEnvironmentIds`,
/// often with no `target` at all.
public struct VercelEnvVariable: Codable, Sendable, Equatable {
    public let id: String?
    public let key: String
    public let value: String?
    public let type: String
    public let target: [String]
    public let customEnvironmentIds: [String]
    public let gitBranch: String?
    public let createdAt: Int64?
    public let updatedAt: Int64?

    public init(
        id: String?, key: String, value: String?, type: String, target: [String], customEnvironmentIds: [String] = [],
        gitBranch: String? = nil, createdAt: Int64? = nil, updatedAt: Int64? = nil
    ) {
        self.id = id
        self.key = key
        self.value = value
        self.type = type
        self.target = target
        self.customEnvironmentIds = customEnvironmentIds
        self.gitBranch = gitBranch
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// What tells this variable apart from one deleted and created again under the same key:
    /// Vercel's id, or, when Vercel leaves it out, the key and the time it was created.
    public var identity: String { id ?? "created-\(createdAt ?? 0)-\(key)" }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try? container.identifier(.id)
        key = try container.decode(String.self, forKey: .key)
        value = try? container.decodeIfPresent(String.self, forKey: .value)
        type = try container.decode(String.self, forKey: .type)
        target = (try container.oneOrMany(.target)) ?? []
        customEnvironmentIds = (try? container.decodeIfPresent([String].self, forKey: .customEnvironmentIds)) ?? []
        gitBranch = try? container.decodeIfPresent(String.self, forKey: .gitBranch)
        createdAt = try? container.milliseconds(.createdAt)
        updatedAt = try? container.milliseconds(.updatedAt)
    }
}

/// `GET /v10/projects/{id}/env`: `{envs, pagination}`, `{envs}` alone, or (older answers) the one
/// variable itself.
struct VercelEnvList: Decodable {
    var envs: LossyList<VercelEnvVariable>
    var pagination: VercelPagination?

    private enum Keys: String, CodingKey { case envs, pagination }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        if container.contains(.envs) {
            envs = try container.decode(LossyList<VercelEnvVariable>.self, forKey: .envs)
            pagination = try? container.decodeIfPresent(VercelPagination.self, forKey: .pagination)
        } else if let one = try? VercelEnvVariable(from: decoder) {
            envs = LossyList(items: [one])
        } else {
            envs = LossyList()
            envs.skipped = [(try? UnreadItem(from: decoder))?.id ?? "?"]
        }
    }
}

/// A variable to create or upsert.
public struct VercelNewEnvVariable: Codable, Sendable, Equatable {
    public var key: String
    public var value: String
    public var type: String
    public var target: [String]
    public var gitBranch: String?

    public init(key: String, value: String, type: String = "encrypted", target: [String], gitBranch: String? = nil) {
        self.key = key
        self.value = value
        self.type = type
        self.target = target
        self.gitBranch = gitBranch
    }
}

/// The answer of a batch create: what was created and what failed, each failure with Vercel's code.
/// `created` may come as an array, as one object, or not at all (Vercel has written all the same).
public struct VercelEnvBatchResult: Decodable, Sendable, Equatable {
    public let created: [VercelEnvVariable]
    public let failed: [Failure]

    private enum Keys: String, CodingKey { case created, failed }

    public init(created: [VercelEnvVariable], failed: [Failure]) {
        self.created = created
        self.failed = failed
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        if let many = try? container.decodeIfPresent(LossyList<VercelEnvVariable>.self, forKey: .created) {
            created = many.items
        } else if let one = try? container.decodeIfPresent(VercelEnvVariable.self, forKey: .created) {
            created = [one]
        } else {
            created = []
        }
        failed = (try? container.decodeIfPresent(LossyList<Failure>.self, forKey: .failed))?.items ?? []
    }

    public struct Failure: Decodable, Sendable, Equatable {
        public let error: Detail

        public struct Detail: Decodable, Sendable, Equatable {
            public let code: String
            public let message: String?
            public let key: String?
        }
    }
}

/// A project domain (`POST /v10/projects/{id}/domains` and the `/v9` reads).
public struct VercelDomain: Codable, Sendable, Equatable {
    public let name: String
    public let apexName: String?
    public let projectId: String?
    public let verified: Bool
    public let verification: [Verification]?
    public let redirect: String?
    public let redirectStatusCode: Int?

    public init(
        name: String, apexName: String?, projectId: String?, verified: Bool, verification: [Verification]?,
        redirect: String? = nil, redirectStatusCode: Int? = nil
    ) {
        self.name = name
        self.apexName = apexName
        self.projectId = projectId
        self.verified = verified
        self.verification = verification
        self.redirect = redirect
        self.redirectStatusCode = redirectStatusCode
    }

    public struct Verification: Codable, Sendable, Equatable {
        public let type: String
        public let domain: String
        public let value: String
        public let reason: String

        public init(type: String, domain: String, value: String, reason: String) {
            self.type = type
            self.domain = domain
            self.value = value
            self.reason = reason
        }
    }
}

/// `GET /v6/domains/{domain}/config`: how Vercel sees the name's DNS. `misconfigured` is false only
/// when the name points at Vercel *and* a certificate can be issued for it; the recommended records
/// are ranked, rank 1 preferred (their values have changed over time: never assume them).
public struct VercelDomainConfig: Codable, Sendable, Equatable {
    public let configuredBy: String?
    public let acceptedChallenges: [String]?
    public let misconfigured: Bool
    public let recommendedIPv4: [RankedAddresses]?
    public let recommendedCNAME: [RankedName]?

    public init(
        configuredBy: String?, acceptedChallenges: [String]?, misconfigured: Bool,
        recommendedIPv4: [RankedAddresses]? = nil, recommendedCNAME: [RankedName]? = nil
    ) {
        self.configuredBy = configuredBy
        self.acceptedChallenges = acceptedChallenges
        self.misconfigured = misconfigured
        self.recommendedIPv4 = recommendedIPv4
        self.recommendedCNAME = recommendedCNAME
    }

    public struct RankedAddresses: Codable, Sendable, Equatable {
        public let rank: Double
        public let value: [String]

        public init(rank: Double, value: [String]) {
            self.rank = rank
            self.value = value
        }
    }

    public struct RankedName: Codable, Sendable, Equatable {
        public let rank: Double
        public let value: String

        public init(rank: Double, value: String) {
            self.rank = rank
            self.value = value
        }
    }

    /// The preferred IPv4 addresses (lowest rank), if Vercel recommends any.
    public var preferredIPv4: [String] {
        (recommendedIPv4 ?? []).min { $0.rank < $1.rank }?.value ?? []
    }

    /// The preferred CNAME target (lowest rank), without a trailing dot.
    public var preferredCNAME: String? {
        guard let value = (recommendedCNAME ?? []).min(by: { $0.rank < $1.rank })?.value else { return nil }
        return value.hasSuffix(".") ? String(value.dropLast()) : value
    }
}

/// What `POST /v2/deployments/{id}/aliases` answers.
public struct VercelAlias: Codable, Sendable, Equatable {
    public let uid: String
    public let alias: String
    public let oldDeploymentId: String?
}
