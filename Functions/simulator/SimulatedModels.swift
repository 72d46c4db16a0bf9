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
