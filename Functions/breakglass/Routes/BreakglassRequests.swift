import Crypto
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
/// one denies it; its requester executes it once inside the window its approval opens. Each
/// approve, deny and execute carries `adminSignature`, the acting admin's Ed25519 signature over the
/// request's statement (`AdminStatement`): the platform's HMAC alone decides nothing, and a refused
/// signature is audited and alerted. An ADMIN_KEY request enrols, rotates or revokes an admin key,
/// and takes effect on its last approval. Every step is audited and raises a `breakglass.*` alert;
/// `DECRYPT_TOKENS`' execution is the one answer of this service that holds tokens, and it is never
/// cached.
enum BreakglassRequests {
    struct CreateInput: Decodable, Sendable {
        let accessLevel: String
        let connectionIds: [UUID]?
        let justification: String
        let keyChange: KeyChangeInput?
    }

    /// An ADMIN_KEY request's change: `enrol` or `rotate` the caller's key (`publicKey`, with
    /// `proof`, the new key's signature of `AdminStatement.proofOfPossession`), or `revoke` a key by
    /// its `fingerprint`.
    struct KeyChangeInput: Decodable, Sendable {
        let action: String
        let publicKey: String?
        let proof: String?
        let fingerprint: String?
    }

    struct DecisionInput: Decodable, Sendable {
        let adminSignature: AdminSignature?
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
        let digest: String
        /// The signature that made the step count, so the audit log alone proves who decided.
        let adminSignature: AdminSignature?
        let keyChange: BreakglassStore.KeyChange?
    }

    @Sendable static func create(_ call: PlatformCall<CreateInput>, _ context: WorkerServices) throws -> Response {
        guard let level = BreakglassStore.AccessLevel(rawValue: call.input.accessLevel) else {
            throw BreakglassError.invalidAccessLevel
        }
        let justification = call.input.justification.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (20...4000).contains(justification.count) else { throw BreakglassError.invalidJustification }
        let connections = call.input.connectionIds ?? []
        let needsConnections = level != .emergencyRecovery && level != .adminKey
        guard connections.count <= 50, !needsConnections || !connections.isEmpty,
            level != .adminKey || connections.isEmpty
        else { throw BreakglassError.invalidConnections }
        guard (level == .adminKey) == (call.input.keyChange != nil) else { throw BreakglassError.invalidKeyChange }
        let change = try call.input.keyChange.map { try keyChange($0, caller: call.caller.userID, context) }
        let request = try refusing(nil, call, context) {
            try context.breakglass.create(
                requester: call.caller.userID, level: level, connections: connections, justification: justification,
                keyChange: change
            ) { try record(.requested, $0, call, context, signature: nil) }
        }
        return .json(One(request: request), status: 201)
    }

    /// The change an ADMIN_KEY request asks for, checked: a new key proven held by its caller, or
    /// an active key to revoke.
    private static func keyChange(
        _ input: KeyChangeInput, caller: UUID, _ context: WorkerServices
    ) throws -> BreakglassStore.KeyChange {
        guard let action = BreakglassStore.KeyChange.Action(rawValue: input.action) else {
            throw BreakglassError.invalidKeyChange
        }
        let keys = context.adminKeys
        switch action {
        case .revoke:
            guard input.publicKey == nil, let fingerprint = input.fingerprint, fingerprint.utf8.count <= 64,
                let key = try keys.find(fingerprint), key.status == "active"
            else { throw BreakglassError.keyNotFound }
            return .init(action: .revoke, adminId: key.adminId, publicKey: nil, fingerprint: fingerprint)
        case .enrol, .rotate:
            guard let text = input.publicKey, let key = Ed25519.PublicKey(text: text) else {
                throw BreakglassError.invalidPublicKey
            }
            guard let proof = input.proof.flatMap(Base64URL.decode),
                key.verifies(proof, of: AdminStatement.proofOfPossession(admin: caller, key: key))
            else { throw BreakglassError.invalidKeyProof }
            guard try keys.find(key.fingerprint) == nil else { throw BreakglassError.keyInUse }
            let current = try keys.active(of: caller)
            if action == .enrol, current != nil { throw BreakglassError.keyAlreadyEnrolled }
            if action == .rotate, current == nil { throw BreakglassError.noActiveKey }
            return .init(action: action, adminId: caller, publicKey: key.text, fingerprint: key.fingerprint)
        }
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

    /// `GET …/requests/:id`: one request, with its digest, as an admin reviews it before signing.
    @Sendable static func show(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        try context.breakglass.expireOverdue()
        guard let request = try context.breakglass.find(try requestID(call)) else {
            throw BreakglassError.requestNotFound
        }
        return .json(One(request: request))
    }

    @Sendable static func approve(_ call: PlatformCall<DecisionInput>, _ context: WorkerServices) throws -> Response {
        try decide(call, context, approve: true)
    }

    @Sendable static func deny(_ call: PlatformCall<DecisionInput>, _ context: WorkerServices) throws -> Response {
        try decide(call, context, approve: false)
    }

    private static func decide(
        _ call: PlatformCall<DecisionInput>, _ context: WorkerServices, approve: Bool
    ) throws -> Response {
        let id = try requestID(call)
        let action: AdminStatement.Action = approve ? .approve : .deny
        let request = try refusing((id, action), call, context) {
            try context.breakglass.decide(
                id, approver: call.caller.userID, approve: approve, verifying: verifier(action, call, context)
            ) { request in
                let signature = call.input.adminSignature
                switch (approve, request.status, request.keyChange) {
                case (false, _, _): try record(.denied, request, call, context, signature: signature)
                case (true, "executed", let change?):
                    try record(.approved, request, call, context, signature: signature)
                    try recordKeyChange(change, request, call, context)
                case (true, "approved", _): try record(.approved, request, call, context, signature: signature)
                default: try record(.approvalRecorded, request, call, context, signature: signature)
                }
            }
        }
        return .json(One(request: request))
    }

    /// Checks the caller's signature of `action` on the request as the store locked it.
    static func verifier<Input: Sendable>(
        _ action: AdminStatement.Action, _ call: PlatformCall<Input>, _ context: WorkerServices,
        signature: AdminSignature?, subject: String = "-"
    ) -> BreakglassStore.Verifier {
        { request in
            try context.adminKeys.accept(signature, by: call.caller.userID) { nonce, timestamp in
                request.statement(action, subject: subject, nonce: nonce, timestamp: timestamp)
            }
        }
    }

    private static func verifier(
        _ action: AdminStatement.Action, _ call: PlatformCall<DecisionInput>, _ context: WorkerServices
    ) -> BreakglassStore.Verifier {
        verifier(action, call, context, signature: call.input.adminSignature)
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

    @Sendable static func execute(_ call: PlatformCall<DecisionInput>, _ context: WorkerServices) throws -> Response {
        let id = try requestID(call)
        let request = try refusing((id, .execute), call, context) {
            try context.breakglass.execute(
                id, requester: call.caller.userID, verifying: verifier(.execute, call, context)
            ) {
                try record(.executed, $0, call, context, signature: call.input.adminSignature)
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

    private static func requestID<Input>(_ call: PlatformCall<Input>) throws -> UUID {
        guard let text = call.parameter("id"), let id = UUID(uuidString: text) else {
            throw BreakglassError.requestNotFound
        }
        return id
    }

    /// Runs a step, turning the store's refusals into answers; a refused signature is audited and
    /// alerted, after the step's transaction has rolled back, before it is answered.
    static func refusing<T, Input: Sendable>(
        _ acting: (request: UUID, action: AdminStatement.Action)?, _ call: PlatformCall<Input>,
        _ context: WorkerServices, signature: AdminSignature? = nil, _ body: () throws -> T
    ) throws -> T {
        do {
            return try body()
        } catch let refusal as BreakglassStore.Refusal {
            throw BreakglassError(refusal)
        } catch let refusal as AdminKeyStore.Refusal {
            if let acting {
                try SignatureRefusal.record(
                    refusal, request: acting.request, action: acting.action,
                    signature: signature ?? (call.input as? DecisionInput)?.adminSignature, call, context)
            }
            throw BreakglassError.signature(refusal)
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
        _ step: Step, _ request: BreakglassStore.Request, _ call: PlatformCall<Input>, _ context: WorkerServices,
        signature: AdminSignature?
    ) throws {
        let event = Event(
            requestId: request.id.uuidString.lowercased(), accessLevel: request.accessLevel.rawValue,
            connectionIds: request.connectionIds.map { $0.uuidString.lowercased() }, status: request.status,
            actor: call.caller.userID.uuidString.lowercased(), digest: request.digest, adminSignature: signature,
            keyChange: request.keyChange)
        try BreakglassEvent.record(step.auditAction, alert: step.rawValue, event, call, context)
    }
}

extension BreakglassRequests {
    private struct KeyEvent: Encodable {
        let requestId: String
        let action: String
        let adminId: String
        let fingerprint: String
        let approvedBy: [String]
    }

    /// The audit row and alert of a key change the quorum applied.
    fileprivate static func recordKeyChange(
        _ change: BreakglassStore.KeyChange, _ request: BreakglassStore.Request,
        _ call: PlatformCall<DecisionInput>, _ context: WorkerServices
    ) throws {
        let event = KeyEvent(
            requestId: request.id.uuidString.lowercased(), action: change.action.rawValue,
            adminId: change.adminId.uuidString.lowercased(), fingerprint: change.fingerprint,
            approvedBy: request.decisions.filter { $0.decision == "approve" }.map {
                $0.approverId.uuidString.lowercased()
            })
        let action: AuditAction =
            switch change.action {
            case .enrol: .adminKeyEnrolled
            case .rotate: .adminKeyRotated
            case .revoke: .adminKeyRevoked
            }
        try BreakglassEvent.record(action, alert: "admin_key_\(change.action.rawValue)", event, call, context)
    }
}

/// A decision refused for its signature, audited and alerted: someone holding the platform's
/// secret, or a stolen or revoked key, tried to act as an admin.
enum SignatureRefusal {
    private struct Event: Encodable {
        let requestId: String
        let action: String
        let reason: String
        let actor: String
        let keyFingerprint: String?
    }

    static func record<Input>(
        _ refusal: AdminKeyStore.Refusal, request: UUID, action: AdminStatement.Action, signature: AdminSignature?,
        _ call: PlatformCall<Input>, _ context: WorkerServices
    ) throws {
        let event = Event(
            requestId: request.uuidString.lowercased(), action: action.rawValue, reason: refusal.rawValue,
            actor: call.caller.userID.uuidString.lowercased(),
            keyFingerprint: signature.map { String($0.keyFingerprint.prefix(64)) })
        try BreakglassEvent.record(.adminSignatureRefused, alert: "signature_refused", event, call, context)
    }
}
