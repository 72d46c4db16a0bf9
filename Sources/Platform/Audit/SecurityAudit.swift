import Kernel
import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Appends to `vercel_security_audit_log` (append-only). Details are what the caller encodes, and
/// never hold a secret.
public struct SecurityAudit {
    let database: PostgresConnection

    public init(database: PostgresConnection) {
        self.database = database
    }

    public enum Severity: String, Sendable {
        case low = "LOW"
        case medium = "MEDIUM"
        case high = "HIGH"
    }

    /// Appends one row.
    /// - Parameters:
    ///   - action: what happened.
    ///   - actor: the user who did it, nil for the service itself.
    ///   - details: encoded as the row's JSON details.
    public func record<Details: Encodable>(
        _ action: AuditAction, severity: Severity, actor: UUID? = nil, connection: UUID? = nil, project: UUID? = nil,
        details: Details = [String: String]()
    ) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let text = String(decoding: try encoder.encode(details), as: UTF8.self)
        try database.execute(
            """
            INSERT INTO vercel_security_audit_log (action, severity, actor_user_id, connection_id, project_id, details, correlation_id)
            VALUES (\(action.rawValue), \(severity.rawValue), \(actor), \(connection), \(project), \(text)::jsonb, \(Trace.requestID))
            """)
    }
}

extension SecurityAudit {
    /// The chain's last row: its sequence number and hash.
    public func head() throws -> (seq: Int64, hash: String) { try AuditChain.head(database) }

    /// A page of the chain, newest first, before `seq`, with the verdict on the rows it shows.
    public func page(
        before seq: Int64?, limit: Int
    ) throws -> (entries: [AuditChain.Entry], verdict: AuditChain.Verdict?) {
        try AuditChain.page(database, before: seq, limit: limit)
    }
}
