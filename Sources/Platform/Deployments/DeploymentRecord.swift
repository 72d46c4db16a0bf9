#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A deployment as this service keeps it and the API shows it.
public struct DeploymentRecord: Sendable {
    public let deploymentID: String
    public let url: String?
    public let state: DeploymentState
    /// `production` or `preview`.
    public let type: String
    public let aliasURLs: [String]
    public let gitSource: GitSource?
    public let createdAt: Date
    public let readyAt: Date?
    public let completedAt: Date?
    public let buildDurationMs: Int?
    public let errorCode: String?
    public let errorMessage: String?
    public let errorStep: String?
    public let buildLogsURL: String?
    /// Vercel's substate of a READY deployment: `STAGED`, `ROLLING`, `PROMOTED`; nil when unknown.
    public var readySubstate: String? = nil

    /// A READY production deployment that Vercel has served production from: not one it only
    /// staged. (Vercel's answers without a substate are taken as served, as they always were.)
    public var promoted: Bool { type == "production" && state == .ready && readySubstate != "STAGED" }

    /// Where a deployment was built from, as the deploy request named it.
    public struct GitSource: Codable, Sendable, Equatable {
        public var branch: String?
        public var commitSha: String?
        public var prNumber: Int?
        public var provider: String?
        public var repository: String?
        /// When the commit was made, as its git provider reported it (for lead time).
        public var committedAt: Date?

        public init(
            branch: String? = nil, commitSha: String? = nil, prNumber: Int? = nil, provider: String? = nil,
            repository: String? = nil, committedAt: Date? = nil
        ) {
            self.branch = branch
            self.commitSha = commitSha
            self.prNumber = prNumber
            self.provider = provider
            self.repository = repository
            self.committedAt = committedAt
        }

        var isEmpty: Bool { self == GitSource() }
    }

    /// The git branch it was built from, nil for files.
    public var branch: String? { gitSource?.branch }

    /// Whether its build has ended; a READY deployment can still be canceled, but its build is over.
    public var isSettled: Bool { state.isBuildOver }
}

extension DeploymentRecord: Encodable {
    private enum Keys: String, CodingKey {
        case id, url, state, type, aliasUrls, gitSource, createdAt, readyAt, completedAt, buildDurationMs, error,
            buildLogsUrl, readySubstate, promoted
    }

    private struct Failure: Encodable {
        let code: String?
        let message: String?
        let step: String?

        func encode(to encoder: any Encoder) throws {
            enum Keys: String, CodingKey { case code, message, step }
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(code, forKey: .code)
            try container.encode(message, forKey: .message)
            try container.encode(step, forKey: .step)
        }
    }

    /// Every field is written, absent ones as null, as the frontend reads them.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(deploymentID, forKey: .id)
        try container.encode(url, forKey: .url)
        try container.encode(state.rawValue, forKey: .state)
        try container.encode(type, forKey: .type)
        try container.encode(aliasURLs, forKey: .aliasUrls)
        try container.encode(gitSource?.isEmpty == false ? gitSource : nil, forKey: .gitSource)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(readyAt, forKey: .readyAt)
        try container.encode(completedAt, forKey: .completedAt)
        try container.encode(buildDurationMs, forKey: .buildDurationMs)
        let failure =
            errorCode == nil && errorMessage == nil
            ? nil : Failure(code: errorCode, message: errorMessage, step: errorStep)
        try container.encode(failure, forKey: .error)
        try container.encode(buildLogsURL, forKey: .buildLogsUrl)
        try container.encode(readySubstate, forKey: .readySubstate)
        try container.encode(promoted, forKey: .promoted)
    }
}
