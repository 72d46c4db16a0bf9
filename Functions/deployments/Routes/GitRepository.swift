import Crypto
import FastCGI
import Kernel
import Platform
import PlatformHost

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `PUT/GET/DELETE /v1/projects/:projectId/vercel/git`: the repository whose pushes and pull
/// requests deploy the project, and the secret its webhook proves deliveries with. The secret (given,
/// or generated) is answered once, by the PUT that sets it; secrets and the provider token are
/// sealed where they lie and never answered again.
enum GitRepository {
    struct Input: Decodable {
        let provider: String
        let repository: String
        let token: String?
        let webhookSecret: String?
    }

    struct View: Encodable {
        let provider: String?
        let repository: String?
        let webhookUrl: String?
        let configured: Bool
        let tokenStored: Bool
        let previousSecretValidUntil: Nullable<Date>
        let refusedDeliveries: Int64
        let lastRefusedAt: Nullable<Date>

        /// The webhook's URL names the project: its deliveries then wait in that project's line
        /// for a worker (the proof, not the name, decides whose they are).
        init(_ configured: GitRepositoryStore.Configured?, projectID: UUID, baseURL: String) {
            provider = configured?.provider.rawValue
            repository = configured?.repository
            webhookUrl = configured.map {
                baseURL + "/v1/webhooks/git/" + $0.provider.rawValue + "?projectId=" + projectID.uuidString.lowercased()
            }
            self.configured = configured != nil
            tokenStored = configured?.tokenStored ?? false
            previousSecretValidUntil = Nullable(configured?.previousSecretValidUntil)
            refusedDeliveries = configured?.refusedDeliveries ?? 0
            lastRefusedAt = Nullable(configured?.lastRefusedAt)
        }

        func encode(to encoder: any Encoder) throws {
            enum Keys: String, CodingKey {
                case provider, repository, webhookUrl, configured, tokenStored, previousSecretValidUntil
                case refusedDeliveries, lastRefusedAt
            }
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(provider, forKey: .provider)
            try container.encode(repository, forKey: .repository)
            try container.encode(webhookUrl, forKey: .webhookUrl)
            try container.encode(configured, forKey: .configured)
            try container.encode(tokenStored, forKey: .tokenStored)
            try container.encode(previousSecretValidUntil, forKey: .previousSecretValidUntil)
            try container.encode(refusedDeliveries, forKey: .refusedDeliveries)
            try container.encode(lastRefusedAt, forKey: .lastRefusedAt)
        }
    }

    struct Configured: Encodable {
        let git: View
        let webhookSecret: String
        let secretGenerated: Bool
    }

    private struct AuditDetails: Encodable {
        let provider: String
        let repository: String
        let secretGenerated: Bool
        let tokenGiven: Bool
    }

    /// A repository's full name: 2 to 20 segments (GitLab nests groups) of letters, digits, `.`,
    /// `_` and `-`, none starting with `.`; 3 to 255 bytes.
    static func isValidRepository(_ name: String) -> Bool {
        let segments = name.split(separator: "/", omittingEmptySubsequences: false)
        return (3...255).contains(name.utf8.count) && (2...20).contains(segments.count)
            && segments.allSatisfy { segment in
                !segment.isEmpty && !segment.hasPrefix(".")
                    && segment.utf8.allSatisfy {
                        (0x30...0x39).contains($0) || (0x41...0x5a).contains($0) || (0x61...0x7a).contains($0)
                            || $0 == 0x2e || $0 == 0x5f || $0 == 0x2d
                    }
            }
    }

    static func isPrintable(_ text: String, length: ClosedRange<Int>) -> Bool {
        length.contains(text.utf8.count) && text.utf8.allSatisfy { (0x21...0x7e).contains($0) }
    }

    @Sendable static func put(_ call: PlatformCall<Input>, _ context: WorkerServices) throws -> Response {
        let input = call.input
        guard let provider = GitProvider(rawValue: input.provider) else { throw DeploymentsError.invalidProvider }
        guard isValidRepository(input.repository) else { throw DeploymentsError.invalidRepository }
        if let secret = input.webhookSecret, !isPrintable(secret, length: 16...256) {
            throw DeploymentsError.invalidWebhookSecret
        }
        if let token = input.token, !isPrintable(token, length: 1...1024) { throw DeploymentsError.invalidGitToken }
        let project = try call.linkedProject()
        // Vercel builds the commit from the repository its project is connected to: a webhook of
        // another repository would deploy commits Vercel cannot find, or another repository's.
        guard let linked = project.repository, let type = linked.type else { throw DeploymentsError.noGitRepository }
        if type != provider.rawValue
            || linked.fullName.map({ $0.lowercased() != input.repository.lowercased() }) == true
        {
            throw DeploymentsError.repositoryMismatch(
                provider: type, repository: linked.fullName ?? "")
        }
        let secret = try input.webhookSecret ?? "whsec_" + SecureRandom.token(byteCount: 32)
        let store = context.gitRepositories
        let configured = try store.configure(
            project.projectID, provider: provider, repository: input.repository, secret: secret, token: input.token)
        try context.audit.record(
            .gitRepositoryConfigured, severity: .medium, actor: call.caller.userID, project: project.projectID,
            details: AuditDetails(
                provider: provider.rawValue, repository: input.repository, secretGenerated: input.webhookSecret == nil,
                tokenGiven: input.token != nil))
        var response = Response.json(
            Configured(
                git: View(configured, projectID: project.projectID, baseURL: context.configuration.deployments.baseURL),
                webhookSecret: secret,
                secretGenerated: input.webhookSecret == nil))
        response.headers.append(("Cache-Control", "no-store"))
        return response
    }

    @Sendable static func get(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        let store = context.gitRepositories
        return .json([
            "git": View(
                try store.configured(call.projectID), projectID: call.projectID,
                baseURL: context.configuration.deployments.baseURL)
        ])
    }

    @Sendable static func delete(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        let store = context.gitRepositories
        let removed = try store.remove(call.projectID)
        if removed {
            try context.audit.record(
                .gitRepositoryRemoved, severity: .medium, actor: call.caller.userID, project: call.projectID)
        }
        return .json(["removed": removed])
    }
}
