import FastCGI
import Kernel
import Platform
import PlatformHost

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `…/breakglass/requests`: emergency access for administrators. A request names its level, the
/// connections and why; distinct admins other than the requester approve it (1, 2 or 3 by level) or
/// one denies it; its requester executes it once inside the window its approval opens. Every step is
/// audited and raises a `breakglass.*` alert; `DECRYPT_TOKENS`' execution is the one answer of this
/// service that holds tokens, and it is never cached.
enum BreakglassRequests {
    struct CreateInput: Decodable, Sendable {
        let accessLevel: String
        let connectionIds: [UUID]?
        let justification: String
    }

    struct One: Encodable {
        let request: BreakglassStore.Request
    }

    struct Listed: Encodable {
        let requests: [BreakglassStore.Request]
    }

    private struct Event: Encodable {
        let requestId: String
        let accessLevel: String
        let connectionIds: [String]
        let status: String
        let actor: String
    }

    @Sendable static func create(_ call: PlatformCall<CreateInput>, _ context: WorkerServices) throws -> Response {
        guard let level = BreakglassStore.AccessLevel(rawValue: call.input.accessLevel) else {
            throw BreakglassError.invalidAccessLevel
        }
        let justification = call.input.justification.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (20...4000).contains(justification.count) else { throw BreakglassError.invalidJustification }
        let connections = call.input.connectionIds ?? []
        let needsConnections = level != .emergencyRecovery
        guard connections.count <= 50, !needsConnections || !connections.isEmpty else {
            throw BreakglassError.invalidConnections
        }
        let request = try refusing {
            try context.breakglass.create(
                requester: call.caller.userID, level: level, connections: connections, justification: justification
            ) { try record(.requested, $0, call, context) }
        }
        return .json(One(request: request), status: 201)
    }

    @Sendable static func list(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        let status = try call.query("status").map { text -> String in
            guard ["pending", "approved", "executed", "expired", "denied"].contains(text) else {
                throw BreakglassError.invalidStatus
            }
            return text
        }
        let limit = try call.limit(in: 1...100, otherwise: 50)
        try context.breakglass.expireOverdue()
        return .json(Listed(requests: try context.breakglass.list(status: status, limit: limit)))
    }

    @Sendable static func approve(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        try decide(call, context, approve: true)
    }

    @Sendable static func deny(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        try decide(call, context, approve: false)
    }

    private static func decide(
        _ call: PlatformCall<NoInput>, _ context: WorkerServices, approve: Bool
    ) throws -> Response {
        let id = try requestID(call)
        let request = try refusing {
            try context.breakglass.decide(
                id, approver: call.caller.userID, approve: approve
            ) { request in
                let step: Step = approve ? (request.status == "approved" ? .approved : .approvalRecorded) : .denied
                try record(step, request, call, context)
            }
        }
        return .json(One(request: request))
    }

    struct Executed: Encodable {
        let executed: Bool
        let request: BreakglassStore.Request
        let connections: [BreakglassStore.ConnectionMetadata]
        let tokens: [Token]?
    }

    /// A connection's tokens as break-glass opens them; `unavailable` says why there are none.
    struct Token: Encodable {
        let connectionId: String
        let accessToken: String?
        let refreshToken: String?
        let tokenExpiresAt: String?
        let unavailable: String?
    }

    @Sendable static func execute(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        let id = try requestID(call)
        let request = try refusing {
            try context.breakglass.execute(id, requester: call.caller.userID) {
                try record(.executed, $0, call, context)
            }
        }
        // EMERGENCY_RECOVERY opens key recovery for 30 minutes; it shows nothing itself.
        let connections = try context.breakglass.metadata(of: request.connectionIds)
        var tokens: [Token]?
        if request.accessLevel == .decryptTokens {
            tokens = request.connectionIds.map { connection in
                do {
                    let credential = try context.connections.credential(connection)
                    return Token(
                        connectionId: connection.uuidString.lowercased(), accessToken: credential.accessToken,
                        refreshToken: credential.refreshToken,
                        tokenExpiresAt: credential.expiresAt.map { ISO8601.format($0) },
                        unavailable: nil)
                } catch {
                    return Token(
                        connectionId: connection.uuidString.lowercased(), accessToken: nil, refreshToken: nil,
                        tokenExpiresAt: nil, unavailable: "the connection holds no usable token")
                }
            }
        }
        var response = Response.json(
            Executed(executed: true, request: request, connections: connections, tokens: tokens))
        response.headers.append(("Cache-Control", "no-store"))
        response.headers.append(("Pragma", "no-cache"))
        return response
    }

    private static func requestID(_ call: PlatformCall<NoInput>) throws -> UUID {
        guard let text = call.parameter("id"), let id = UUID(uuidString: text) else {
            throw BreakglassError.requestNotFound
        }
        return id
    }

    private static func refusing<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let refusal as BreakglassStore.Refusal {
            throw BreakglassError(refusal)
        }
    }

    /// A step of a request's life, as its alert is named (`breakglass.<step>`), with its audit action.
    enum Step: String {
        case requested
        case approvalRecorded = "approval_recorded"
        case approved
        case denied
        case executed

        var auditAction: AuditAction {
            switch self {
            case .requested: .breakglassRequested
            case .approvalRecorded: .breakglassApprovalRecorded
            case .approved: .breakglassApproved
            case .denied: .breakglassDenied
            case .executed: .breakglassExecuted
            }
        }
    }

    /// The audit row and the `breakglass.<step>` alert of one step, written in the step's transaction: who, which request, which level
    /// and connections; never a token.
    private static func record<Input>(
        _ step: Step, _ request: BreakglassStore.Request, _ call: PlatformCall<Input>, _ context: WorkerServices
    ) throws {
        let event = Event(
            requestId: request.id.uuidString.lowercased(), accessLevel: request.accessLevel.rawValue,
            connectionIds: request.connectionIds.map { $0.uuidString.lowercased() }, status: request.status,
            actor: call.caller.userID.uuidString.lowercased())
        try context.audit.record(
            step.auditAction, severity: .high, actor: call.caller.userID, details: event)
        try context.alerts.enqueue(
            "breakglass.\(step.rawValue)", severity: .critical, userID: call.caller.userID, data: event)
    }
}
