import Foundation

/// A deployment whose state follows a clock: QUEUED for the first 20% of its build time,
/// INITIALIZING to 40%, BUILDING to 100%, then READY (or ERROR when it was set to fail), unless
/// it was canceled first.
struct SimulatedDeployment: Sendable {
    var id: String
    var url: String
    var name: String
    var projectId: String
    var ownerID: String
    var target: String?
    var createdAt: Int64
    var buildMs: Int64
    var failsAtBuild: Bool
    var canceledAt: Int64?
    var meta: [String: String]
    var gitSource: [String: JSONScalar]?
    var alias: [String]
    var fileCount: Int

    enum JSONScalar: Codable, Sendable, Equatable {
        case string(String)
        case number(Int64)

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(Int64.self) {
                self = .number(number)
            } else {
                self = .string(try container.decode(String.self))
            }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .string(let text): try container.encode(text)
            case .number(let number): try container.encode(number)
            }
        }
    }

    func state(at now: Int64) -> String {
        let elapsed = now - createdAt
        if let canceledAt, canceledAt <= now, canceledAt < createdAt + buildMs { return "CANCELED" }
        if elapsed < buildMs / 5 { return "QUEUED" }
        if elapsed < buildMs * 2 / 5 { return "INITIALIZING" }
        if elapsed < buildMs { return "BUILDING" }
        return failsAtBuild ? "ERROR" : "READY"
    }

    /// `POST /v13/deployments` and `GET /v13/deployments/{idOrUrl}`.
    struct Detail: Encodable {
        let id: String
        let url: String
        let name: String
        let projectId: String
        let readyState: String
        let status: String
        let createdAt: Int64
        let buildingAt: Int64
        let ready: Int64?
        let target: String?
        let alias: [String]
        let aliasAssigned: Bool
        let meta: [String: String]
        let gitSource: [String: JSONScalar]?
        let errorCode: String?
        let errorMessage: String?
        let errorStep: String?
        let inspectorUrl: String

        func encode(to encoder: any Encoder) throws {
            enum Keys: String, CodingKey {
                case id, url, name, projectId, readyState, status, createdAt, buildingAt, ready, target, alias,
                    aliasAssigned, meta
                case gitSource, errorCode, errorMessage, errorStep, inspectorUrl
            }
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(id, forKey: .id)
            try container.encode(url, forKey: .url)
            try container.encode(name, forKey: .name)
            try container.encode(projectId, forKey: .projectId)
            try container.encode(readyState, forKey: .readyState)
            try container.encode(status, forKey: .status)
            try container.encode(createdAt, forKey: .createdAt)
            try container.encode(buildingAt, forKey: .buildingAt)
            try container.encodeIfPresent(ready, forKey: .ready)
            try container.encode(target, forKey: .target)
            try container.encode(alias, forKey: .alias)
            try container.encode(aliasAssigned, forKey: .aliasAssigned)
            try container.encode(meta, forKey: .meta)
            try container.encodeIfPresent(gitSource, forKey: .gitSource)
            try container.encodeIfPresent(errorCode, forKey: .errorCode)
            try container.encodeIfPresent(errorMessage, forKey: .errorMessage)
            try container.encodeIfPresent(errorStep, forKey: .errorStep)
            try container.encode(inspectorUrl, forKey: .inspectorUrl)
        }
    }

    func detail(at now: Int64) -> Detail {
        let state = state(at: now)
        return Detail(
            id: id, url: url, name: name, projectId: projectId, readyState: state, status: state, createdAt: createdAt,
            buildingAt: createdAt + buildMs * 2 / 5, ready: state == "READY" ? createdAt + buildMs : nil,
            target: target,
            alias: state == "READY" ? alias : [], aliasAssigned: state == "READY", meta: meta, gitSource: gitSource,
            errorCode: state == "ERROR" ? "BUILD_FAILED" : nil,
            errorMessage: state == "ERROR" ? "Command \"npm run build\" exited with 1" : nil,
            errorStep: state == "ERROR" ? "BUILD" : nil,
            inspectorUrl: "https://vercel.com/simulated/\(name)/\(id)")
    }

    /// An item of `GET /v6/deployments`, which names fields as that version does.
    struct Summary: Encodable {
        let uid: String
        let name: String
        let url: String
        let created: Int64
        let state: String
        let readyState: String
        let target: String?
        let projectId: String
        let meta: [String: String]
    }

    func summary(at now: Int64) -> Summary {
        let state = state(at: now)
        return Summary(
            uid: id, name: name, url: url, created: createdAt, state: state, readyState: state, target: target,
            projectId: projectId, meta: meta)
    }
}
