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
    }

    /// The event in `body`; nil when it is not one Vercel could have sent, such as a `createdAt`
    /// outside `VercelTime.plausible`.
    public static func decode(_ body: [UInt8]) -> WebhookEvent? {
        guard let event = try? JSONDecoder().decode(WebhookEvent.self, from: Data(body)) else { return nil }
        if let createdAt = event.createdAt, VercelTime.date(milliseconds: createdAt) == nil { return nil }
        return event
    }
}
