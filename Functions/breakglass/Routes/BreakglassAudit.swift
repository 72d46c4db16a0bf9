import FastCGI
import Kernel
import Platform
import PlatformHost

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `GET /v1/admin/vercel/breakglass/audit?limit=&before=`: the security audit log, newest first, a
/// page at a time (`before` is the `seq` the previous page's `pagination.next` gave), with the
/// chain's head and whether the page's rows fit the chain. `vercel-audit verify` checks all of it.
enum BreakglassAudit {
    struct Entry: Encodable {
        let seq: Int64
        let occurredAt: String
        let action: String
        let severity: String
        let actorUserId: String?
        let connectionId: String?
        let projectId: String?
        let details: JSONValue
        let correlationId: String?
        let hash: String
        let previousHash: String
    }

    struct Chain: Encodable {
        let headSeq: Int64
        let headHash: String
        /// Whether every row of this page carries its own hash and links to the row before it.
        let pageIntact: Bool
        let firstBrokenSeq: Int64?
        let reason: String?

        func encode(to encoder: any Encoder) throws {
            enum Keys: String, CodingKey { case headSeq, headHash, pageIntact, firstBrokenSeq, reason }
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(headSeq, forKey: .headSeq)
            try container.encode(headHash, forKey: .headHash)
            try container.encode(pageIntact, forKey: .pageIntact)
            try container.encode(firstBrokenSeq, forKey: .firstBrokenSeq)
            try container.encode(reason, forKey: .reason)
        }
    }

    struct Page: Encodable {
        let entries: [Entry]
        let pagination: Next
        let chain: Chain
    }

    struct Next: Encodable {
        let next: String?

        func encode(to encoder: any Encoder) throws {
            enum Keys: String, CodingKey { case next }
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(next, forKey: .next)
        }
    }

    @Sendable static func page(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        let limit = try call.limit(in: 1...200, otherwise: 50)
        let before = try call.cursor("before") { text -> Int64? in
            guard text.utf8.count <= 19, let seq = Int64(text), seq > 0 else { return nil }
            return seq
        }
        let head = try context.audit.head()
        let (entries, verdict) = try context.audit.page(before: before, limit: limit)
        var broken: (Int64, String)?
        if case .broken(let seq, let reason) = verdict { broken = (seq, reason) }
        let last = entries.last?.seq ?? 1
        return .json(
            Page(
                entries: entries.map {
                    Entry(
                        seq: $0.seq, occurredAt: $0.occurredAt, action: $0.action, severity: $0.severity,
                        actorUserId: $0.actor, connectionId: $0.connection, projectId: $0.project,
                        details: (try? JSONDecoder().decode(JSONValue.self, from: Data($0.details.utf8)))
                            ?? .string($0.details),
                        correlationId: $0.correlationID, hash: $0.hash, previousHash: $0.previousHash)
                },
                pagination: Next(next: last > 1 && !entries.isEmpty ? String(last) : nil),
                chain: Chain(
                    headSeq: head.seq, headHash: head.hash, pageIntact: broken == nil, firstBrokenSeq: broken?.0,
                    reason: broken?.1)))
    }
}
