/// An environment variable as Vercel lists it. `value` is empty for anything but `plain`:
/// listings never carry secrets (`decrypt` is deprecated and not used).
public struct VercelEnvVariable: Codable, Sendable, Equatable {
    public let id: String
    public let key: String
    public let value: String?
    public let type: String
    public let target: [String]
    public let gitBranch: String?
    public let createdAt: Int64?
    public let updatedAt: Int64?
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
public struct VercelEnvBatchResult: Decodable, Sendable, Equatable {
    public let created: [VercelEnvVariable]
    public let failed: [Failure]

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

    public struct Verification: Codable, Sendable, Equatable {
        public let type: String
        public let domain: String
        public let value: String
        public let reason: String
    }
}

/// `GET /v6/domains/{domain}/config`.
public struct VercelDomainConfig: Codable, Sendable, Equatable {
    public let configuredBy: String?
    public let acceptedChallenges: [String]?
    public let misconfigured: Bool
}

/// What `POST /v2/deployments/{id}/aliases` answers.
public struct VercelAlias: Codable, Sendable, Equatable {
    public let uid: String
    public let alias: String
    public let oldDeploymentId: String?
}
