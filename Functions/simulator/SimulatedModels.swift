import FastCGI
import Foundation
import Kernel

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
    var directoryListing = false

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

    /// `link` as Vercel describes each kind: github (`org`, `repo`, a number `repoId`), gitlab
    /// (`projectId`, `projectNamespace`, `projectName`), bitbucket (`owner`, `slug`), cursor-origin
    /// (`repo` and a string `repoId`); every kind lists its `deployHooks`.
    struct Link: Codable, Sendable {
        var type: String
        var repo: String?
        var org: String?
        var repoId: SimulatedDeployment.JSONScalar?
        var productionBranch: String?
        var deployHooks: [String] = []
        var createdAt: Int64?
        var projectId: String?
        var projectName: String?
        var projectNamespace: String?
        var projectNameWithNamespace: String?
        var owner: String?
        var slug: String?
        var workspaceUuid: String?
        var uuid: String?

        /// The link a repository `org/name` gets under the account's shapes.
        static func make(type: String, repo: String, shapes: SimulatedShapes, at now: Int64) -> Link {
            let parts = repo.split(separator: "/", maxSplits: 1).map(String.init)
            let org = parts.count == 2 ? parts[0] : nil
            let name = parts.last ?? repo
            let number = Int64(abs(repo.hashValue % 1_000_000))
            if shapes.has(.cursorOriginLinks) {
                return Link(
                    type: "cursor-origin", repo: name, org: org, repoId: .string("cur_\(number)"),
                    productionBranch: "main", createdAt: now)
            }
            if shapes.has(.gitlabLinks) {
                return Link(
                    type: "gitlab", productionBranch: "main", createdAt: now, projectId: "\(number)", projectName: name,
                    projectNamespace: org, projectNameWithNamespace: repo)
            }
            if shapes.has(.bitbucketLinks) {
                return Link(
                    type: "bitbucket", productionBranch: "main", createdAt: now, owner: org, slug: name,
                    workspaceUuid: "{\(UUID().uuidString.lowercased())}", uuid: "{\(UUID().uuidString.lowercased())}")
            }
            return Link(
                type: type, repo: name, org: org, repoId: .number(number), productionBranch: "main", createdAt: now)
        }
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
    /// The custom environments it belongs to; such a variable usually has no `target`.
    var customEnvironmentIds: [String] = []
    var gitBranch: String?
    var createdAt: Int64
    var updatedAt: Int64

    /// As Vercel lists it: plain values are shown, the others are not. The shapes decide whether
    /// one target comes as a string and whether a plain variable's id is left out.
    func listed(_ shapes: SimulatedShapes) -> JSONValue {
        fields(value: type == "plain" ? value : "", shapes)
    }

    /// As `GET /v1/projects/{id}/env/{envId}` answers: the value decrypted, except a sensitive one.
    func decrypted(_ shapes: SimulatedShapes) -> JSONValue {
        var object = fields(value: type == "sensitive" ? nil : value, shapes, keepID: true)
        if case .object(var members) = object {
            members["decrypted"] = .bool(type != "sensitive")
            object = .object(members)
        }
        return object
    }

    private func fields(value: String?, _ shapes: SimulatedShapes, keepID: Bool = false) -> JSONValue {
        var members: [String: JSONValue] = [
            "key": .string(key), "type": .string(type), "createdAt": .integer(Int(createdAt)),
            "updatedAt": .integer(Int(updatedAt)),
        ]
        if let value { members["value"] = .string(value) }
        if keepID || !(shapes.has(.envMissingIds) && type == "plain") { members["id"] = .string(id) }
        if target.count == 1, shapes.has(.envStringTarget) {
            members["target"] = .string(target[0])
        } else if !target.isEmpty {
            members["target"] = .array(target.map { .string($0) })
        }
        if !customEnvironmentIds.isEmpty {
            members["customEnvironmentIds"] = .array(customEnvironmentIds.map { .string($0) })
        }
        if let gitBranch { members["gitBranch"] = .string(gitBranch) }
        return .object(members)
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
