import Foundation

// Vercel's field names (REST API reference, `vercel/sdk` models). Optional fields are left out of
// JSON when absent, as Vercel does.

struct SimulatedUser: Codable, Sendable {
    var id: String
    var email: String
    var name: String?
    var username: String
    var defaultTeamId: String?
}

struct SimulatedTeam: Codable, Sendable {
    var id: String
    var slug: String
    var name: String?
}

struct SimulatedProject: Codable, Sendable {
    var id: String
    var name: String
    var accountId: String
    var framework: String?
    var nodeVersion: String
    var buildCommand: String?
    var outputDirectory: String?
    var installCommand: String?
    var devCommand: String?
    var rootDirectory: String?
    var createdAt: Int64
    var updatedAt: Int64
    var link: Link?
    var targets: Targets?
    var lastAliasRequest: AliasRequest?

    struct Targets: Codable, Sendable {
        var production: Production?

        struct Production: Codable, Sendable {
            var id: String
            var url: String
            var alias: [String]
        }
    }

    struct AliasRequest: Codable, Sendable {
        var fromDeploymentId: String?
        var toDeploymentId: String
        var jobStatus: String
        var requestedAt: Int64
        var type: String
    }

    struct Link: Codable, Sendable {
        var type: String
        var repo: String?
        var org: String?
        var repoId: Int?
        var productionBranch: String?
    }
}

struct SimulatedPagination: Codable, Sendable {
    var count: Int
    var next: Int64?
    var prev: Int64?

    // Vercel sends `next: null` on the last page.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(count, forKey: .count)
        try container.encode(next, forKey: .next)
        try container.encode(prev, forKey: .prev)
    }
}

struct SimulatedEnv: Codable, Sendable {
    var id: String
    var projectId: String
    var key: String
    var value: String
    var type: String
    var target: [String]
    var gitBranch: String?
    var createdAt: Int64
    var updatedAt: Int64

    /// As Vercel lists it: plain values are shown, the others are not.
    var listed: Listed {
        Listed(
            id: id, key: key, value: type == "plain" ? value : "", type: type, target: target, gitBranch: gitBranch,
            createdAt: createdAt, updatedAt: updatedAt)
    }

    /// As `GET /v1/projects/{id}/env/{envId}` answers: the value decrypted, except a sensitive one.
    var decrypted: Decrypted {
        Decrypted(
            id: id, key: key, value: type == "sensitive" ? nil : value, decrypted: type != "sensitive", type: type,
            target: target, gitBranch: gitBranch, createdAt: createdAt, updatedAt: updatedAt)
    }

    struct Decrypted: Codable, Sendable {
        var id: String
        var key: String
        var value: String?
        var decrypted: Bool
        var type: String
        var target: [String]
        var gitBranch: String?
        var createdAt: Int64
        var updatedAt: Int64
    }

    struct Listed: Codable, Sendable {
        var id: String
        var key: String
        var value: String
        var type: String
        var target: [String]
        var gitBranch: String?
        var createdAt: Int64
        var updatedAt: Int64
    }
}

struct SimulatedDomain: Codable, Sendable {
    var name: String
    var apexName: String
    var projectId: String
    var verified: Bool
    var verification: [Verification]?
    var redirect: String?
    var redirectStatusCode: Int?
    var gitBranch: String?
    var createdAt: Int64
    var updatedAt: Int64

    struct Verification: Codable, Sendable {
        var type: String
        var domain: String
        var value: String
        var reason: String
    }
}
