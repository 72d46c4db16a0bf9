import Kernel
import Vercel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Vercel's webhook envelope: `{type, id, createdAt (epoch ms), region, payload}`, with the fields of
/// the payload this service reads. Unknown types decode too: they are stored and acknowledged.
public struct WebhookEvent: Decodable, Sendable {
    public let type: String
    public let id: String?
    public let createdAt: Int64?
    public let payload: Payload

    public struct Payload: Decodable, Sendable {
        public let deployment: Deployment?
        public let project: Reference?
        public let team: Reference?
        public let user: Reference?
        public let target: String?
        public let alias: [String]?
        public let configuration: Reference?
        public let links: Links?
        /// `integration-configuration.permission-upgraded`: the permissions added and those raised
        /// from `read:` to `read-write:`, in Vercel's words.
        public let scopes: ScopeChange?

        public struct Deployment: Decodable, Sendable {
            public let id: String
            public let url: String?
            public let name: String?
            public let meta: [String: String]?
        }

        public struct Reference: Decodable, Sendable {
            public let id: String?
        }

        public struct Links: Decodable, Sendable {
            public let deployment: String?
        }

        public struct ScopeChange: Decodable, Sendable {
            public let added: [String]?
            public let upgraded: [String]?
        }
    }

    /// The event in `body`; nil when it is not one Vercel could have sent: a key twice in an object,
    /// a NUL, an identifier longer than `maxIdentifierLength`, a deployment id that is empty or not
    /// of Vercel's characters, a `createdAt` outside
    /// `VercelTime.plausible`.
    public static func decode(_ body: [UInt8]) -> WebhookEvent? {
        guard (try? JSONScreen.check(body)) != nil,
            let event = try? JSONDecoder().decode(WebhookEvent.self, from: Data(body)),
            event.hasBoundedIdentifiers
        else { return nil }
        if let createdAt = event.createdAt, VercelTime.date(milliseconds: createdAt) == nil { return nil }
        return event
    }
}

extension WebhookEvent {
    private enum Keys: String, CodingKey { case type, id, createdAt, payload }

    /// `createdAt` is whole milliseconds, which may arrive as `1.0` or in exponent form.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        type = try container.decode(String.self, forKey: .type)
        id = try container.decodeIfPresent(String.self, forKey: .id)
        createdAt = try container.milliseconds(.createdAt)
        payload = try container.decode(Payload.self, forKey: .payload)
    }
}

extension WebhookEvent {
    /// Vercel's identifiers are short; this bounds every one an event carries, so each fits its
    /// index and its column.
    public static let maxIdentifierLength = 255

    var hasBoundedIdentifiers: Bool {
        let identifiers = [
            id, type, payload.deployment?.id, payload.deployment?.url, payload.deployment?.name, payload.project?.id,
            payload.team?.id, payload.user?.id, payload.configuration?.id, payload.target,
        ]
        // A deployment is named by an id Vercel could have made: an empty one would queue work
        // that can never succeed.
        return !type.isEmpty
            && (payload.deployment.map { VercelIdentifier.isValid($0.id) } ?? true)
            && identifiers.allSatisfy { ($0?.unicodeScalars.count ?? 0) <= Self.maxIdentifierLength }
            && (payload.alias ?? []).count <= 100
            && (payload.alias ?? []).allSatisfy { $0.unicodeScalars.count <= Self.maxIdentifierLength }
    }
}

extension WebhookEvent {
    /// The deployment of a `deployment.*` event that names one: such an event is applied by
    /// `vercel_receive_deployment_event`; nil for every other event.
    var deploymentEvent: Payload.Deployment? {
        type.hasPrefix("deployment.") ? payload.deployment : nil
    }
}
