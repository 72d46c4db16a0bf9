import Crypto
import FastCGI
import Platform
import PlatformHost
import Vercel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `GET /v1/projects/:projectId/vercel/deployments` (this service's records, newest first, with a
/// cursor, filters and the last 30 days' figures) and `GET .../deployments/:deploymentId` (asked of
/// Vercel again while the build is not over).
enum DeploymentWatch {
    struct Page: Encodable {
        let deployments: [DeploymentRecord]
        let pagination: Pagination<String>
        let stats: DeploymentStore.Stats

    }

    @Sendable static func list(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        let limit = try call.limit()
        let states = try call.query("state").map { text -> [String] in
            let names = text.split(separator: ",").map { $0.uppercased() }
            guard !names.isEmpty, names.count <= 7, names.allSatisfy({ DeploymentState(rawValue: $0) != nil }) else {
                throw DeploymentsError.invalidState
            }
            return names
        }
        let type = try call.query("target").map { text -> String in
            guard DeployTarget(rawValue: text) != nil else { throw DeploymentsError.invalidTarget }
            return text.uppercased()
        }
        let after = try call.query("cursor").map(Cursor.position(of:))
        let store = context.deployments(logger: call.logger)
        let page = try store.page(call.projectID, filter: .init(states: states, type: type), after: after, limit: limit)
        return .json(
            Page(
                deployments: page.deployments, pagination: .init(next: page.next.map(Cursor.text)),
                stats: try store.stats(call.projectID)))
    }

    /// The list's opaque cursor: a position, base64url-encoded.
    enum Cursor {
        static func text(_ position: DeploymentStore.Position) -> String {
            Base64URL.encode(Array("\(position.createdAt)|\(position.deploymentID)".utf8))
        }

        static func position(of text: String) throws -> DeploymentStore.Position {
            guard text.utf8.count <= 512, let bytes = Base64URL.decode(text) else {
                throw PlatformError.invalidCursor
            }
            let parts = String(decoding: bytes, as: UTF8.self).split(separator: "|", maxSplits: 1).map(String.init)
            guard parts.count == 2, parts[0].utf8.count <= 40, (1...255).contains(parts[1].utf8.count),
                parts[0].utf8.allSatisfy({ (0x20...0x3a).contains($0) })
            else { throw PlatformError.invalidCursor }
            return DeploymentStore.Position(createdAt: parts[0], deploymentID: parts[1])
        }
    }

    struct Detail: Encodable {
        let deployment: DeploymentRecord
        let stale: Bool
        /// Its smoke check: null when none was asked for (a deployment older than checks).
        let checks: DeploymentCheckStore.Record?
        /// How it fared in production after its promotion: null when it was never watched.
        let productionWatch: ProductionWatchStore.Record?

        func encode(to encoder: any Encoder) throws {
            enum Keys: String, CodingKey { case deployment, stale, checks, productionWatch }
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(deployment, forKey: .deployment)
            try container.encode(stale, forKey: .stale)
            try container.encode(checks, forKey: .checks)
            try container.encode(productionWatch, forKey: .productionWatch)
        }
    }

    @Sendable static func get(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        let store = context.deployments(logger: call.logger)
        guard var deployment = try store.find(try call.deploymentID(), projectID: call.projectID) else {
            throw DeploymentsError.deploymentNotFound
        }
        var stale = false
        // A project unlinked since keeps its history, shown as it was last known.
        if !deployment.isSettled, let project = call.project?.link {
            do {
                let credentials = try context.vercelCredentials(
                    for: call, connection: project.connectionID, requiring: .readDeployment)
                let reported = try context.vercel.deployment(
                    deployment.deploymentID, credentials)
                deployment = try store.applyReported(reported, projectID: call.projectID) ?? deployment
            } catch let error as VercelError where error.isTransient {
                // What is stored is still worth showing; the caller learns it may be behind.
                call.logger.warning("deployment refresh failed", metadata: ["error.code": "\(error.code)"])
                stale = true
            }
        }
        return .json(
            Detail(
                deployment: deployment, stale: stale,
                checks: try context.deploymentCheckStore.record(deployment.deploymentID, projectID: call.projectID),
                productionWatch: try context.productionWatchStore.record(
                    deployment.deploymentID, projectID: call.projectID)))
    }
}

extension VercelError {
    /// A failure that passes: rate limits, an open breaker, a full bulkhead, no answer, Vercel's own 5xx.
    var isTransient: Bool {
        switch self {
        case .rateLimited, .circuitOpen, .busy, .unreachable, .outOfTime: true
        case .api(let status, _, _): status >= 500
        case .unauthorized, .forbidden, .missingFiles, .invalidResponse: false
        }
    }
}
