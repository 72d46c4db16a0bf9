import Crypto
import Kernel
import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Break-glass requests (`vercel_breakglass_requests`) and the decisions on them
/// (`vercel_breakglass_approvals`): a request needs its level's number of approvals from distinct
/// admins other than its requester; one denial ends it; a pending request expires; an approved one
/// opens a window in which its requester executes it once. Every decision and execution counts only
/// with a signature by the acting admin's own key (`AdminKeyStore.accept`), checked in the same
/// locked transaction that records it. An ADMIN_KEY request (a key enrolled, rotated or revoked)
/// takes effect on the approval that completes its quorum.
public struct BreakglassStore {
    let database: PostgresConnection

    public init(database: PostgresConnection) {
        self.database = database
    }

    /// At most this many requests per requester in any 24 hours.
    public static let dailyLimit = 3

    public enum AccessLevel: String, Codable, Sendable, CaseIterable {
        case readMetadata = "READ_METADATA"
        case decryptTokens = "DECRYPT_TOKENS"
        case emergencyRecovery = "EMERGENCY_RECOVERY"
        /// An admin key enrolled, rotated or revoked.
        case adminKey = "ADMIN_KEY"

        /// Distinct admins, other than the requester, who must approve. An ADMIN_KEY request needs
        /// two, or one while only one other admin holds a key.
        public var requiredApprovals: Int {
            switch self {
            case .readMetadata: 1
            case .decryptTokens: 2
            case .emergencyRecovery: 3
            case .adminKey: 2
            }
        }

        /// How long a request waits for its approvals, and how long the window of an approved one
        /// stays open.
        public var lifetimeSeconds: Int {
            self == .emergencyRecovery ? 30 * 60 : 15 * 60
        }
    }

    public struct Decision: Encodable, Sendable {
        public let approverId: UUID
        public let decision: String
        public let decidedAt: Date
        /// The key that signed it (nil for a decision recorded before decisions were signed).
        public let keyFingerprint: String?

        public func encode(to encoder: any Encoder) throws {
            enum Keys: String, CodingKey { case approverId, decision, decidedAt, keyFingerprint }
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(approverId.uuidString.lowercased(), forKey: .approverId)
            try container.encode(decision, forKey: .decision)
            try container.encode(ISO8601.format(decidedAt), forKey: .decidedAt)
            try container.encode(keyFingerprint, forKey: .keyFingerprint)
        }
    }

    /// What an ADMIN_KEY request changes.
    public struct KeyChange: Encodable, Sendable, Equatable {
        public enum Action: String, Codable, Sendable, CaseIterable {
            /// A first key for an admin who holds none.
            case enrol
            /// A new key for an admin, replacing their active one.
            case rotate
            /// A key revoked (lost, stolen, or its admin gone).
            case revoke
        }

        public let action: Action
        public let adminId: UUID
        /// The new key (enrol, rotate), base64url.
        public let publicKey: String?
        /// The new key's fingerprint (enrol, rotate) or the revoked key's (revoke).
        public let fingerprint: String

        public init(action: Action, adminId: UUID, publicKey: String?, fingerprint: String) {
            self.action = action
            self.adminId = adminId
            self.publicKey = publicKey
            self.fingerprint = fingerprint
        }

        public func encode(to encoder: any Encoder) throws {
            enum Keys: String, CodingKey { case action, adminId, publicKey, fingerprint }
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(action, forKey: .action)
            try container.encode(adminId.uuidString.lowercased(), forKey: .adminId)
            try container.encode(publicKey, forKey: .publicKey)
            try container.encode(fingerprint, forKey: .fingerprint)
        }
    }

    public struct Request: Encodable, Sendable {
        public let id: UUID
        public let requestedBy: UUID
        public let accessLevel: AccessLevel
        public let connectionIds: [UUID]
        public let justification: String
        public let status: String
        public let requiredApprovals: Int
        public let decisions: [Decision]
        public let expiresAt: Date
        public let approvedAt: Date?
        public let windowEndsAt: Date?
        public let executedAt: Date?
        public let createdAt: Date
        public let keyChange: KeyChange?

        /// Lowercase hex SHA-256 of what the request asks, each field as `<bytes>:<text>` (`-` for
        /// none) joined by `|`: its id, requester, level, connections in order, justification, the
        /// approvals it needs and its key change. Every signed decision covers it; `vercel-admin`
        /// recomputes it from the answer before signing.
        public var digest: String {
            Self.digest(
                id: id, requestedBy: requestedBy, accessLevel: accessLevel.rawValue, connectionIds: connectionIds,
                justification: justification, requiredApprovals: requiredApprovals, keyChange: keyChange)
        }

        public static func digest(
            id: UUID, requestedBy: UUID, accessLevel: String, connectionIds: [UUID], justification: String,
            requiredApprovals: Int, keyChange: KeyChange?
        ) -> String {
            let fields: [String?] = [
                "sheen-vercel breakglass request v1", id.uuidString.lowercased(), requestedBy.uuidString.lowercased(),
                accessLevel, connectionIds.map { $0.uuidString.lowercased() }.joined(separator: ","), justification,
                String(requiredApprovals), keyChange?.action.rawValue, keyChange?.adminId.uuidString.lowercased(),
                keyChange?.publicKey, keyChange?.fingerprint,
            ]
            return Digest.sha256Hex(
                fields.map { field in field.map { "\($0.utf8.count):\($0)" } ?? "-" }.joined(separator: "|"))
        }

        /// The statement an admin signs to act on this request.
        public func statement(
            _ action: AdminStatement.Action, subject: String = "-", nonce: String, timestamp: Int64
        ) -> AdminStatement {
            AdminStatement(
                request: id, action: action, level: accessLevel.rawValue, digest: digest, subject: subject,
                nonce: nonce, timestamp: timestamp)
        }

        public func encode(to encoder: any Encoder) throws {
            enum Keys: String, CodingKey {
                case id, requestedBy, accessLevel, connectionIds, justification, status, requiredApprovals
                case approvals, decisions, expiresAt, approvedAt, windowEndsAt, executedAt, createdAt, keyChange, digest
            }
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(id.uuidString.lowercased(), forKey: .id)
            try container.encode(requestedBy.uuidString.lowercased(), forKey: .requestedBy)
            try container.encode(accessLevel, forKey: .accessLevel)
            try container.encode(connectionIds.map { $0.uuidString.lowercased() }, forKey: .connectionIds)
            try container.encode(justification, forKey: .justification)
            try container.encode(status, forKey: .status)
            try container.encode(requiredApprovals, forKey: .requiredApprovals)
            try container.encode(decisions.filter { $0.decision == "approve" }.count, forKey: .approvals)
            try container.encode(decisions, forKey: .decisions)
            try container.encode(Self.time(expiresAt), forKey: .expiresAt)
            try container.encode(approvedAt.map(Self.time), forKey: .approvedAt)
            try container.encode(windowEndsAt.map(Self.time), forKey: .windowEndsAt)
            try container.encode(executedAt.map(Self.time), forKey: .executedAt)
            try container.encode(Self.time(createdAt), forKey: .createdAt)
            try container.encode(keyChange, forKey: .keyChange)
            try container.encode(digest, forKey: .digest)
        }

        static func time(_ date: Date) -> String {
            ISO8601.format(date)
        }
    }

    public enum Refusal: Error, Equatable {
        case notFound
        case dailyLimit(retryAfterSeconds: Int)
        case unknownConnections
        case selfApproval
        case alreadyDecided
        case notPending(status: String)
        case notRequester
        case notExecutable(status: String)
        /// An ADMIN_KEY request decided by the admin whose key it changes.
        case ownKey
        /// No admin other than the requester and the key's admin holds a key to approve with.
        case noQuorum
        /// The key an ADMIN_KEY request would enrol was enrolled meanwhile.
        case keyInUse
    }

    private static let columns: SQL = """
        r.id, r.requested_by, r.access_level, array_to_json(r.connection_ids)::text AS connection_ids, r.justification,
        r.status, r.required_approvals, r.expires_at, r.approved_at, r.window_ends_at, r.executed_at, r.created_at,
        r.key_action, r.key_admin_id, r.key_public_key, r.key_fingerprint,
        coalesce((SELECT json_agg(json_build_object('approverId', a.approver_id, 'decision', a.decision,
          'decidedAt', extract(epoch FROM a.decided_at), 'keyFingerprint', a.key_fingerprint) ORDER BY a.decided_at)
          FROM vercel_breakglass_approvals a WHERE a.request_id = r.id), '[]')::text AS decisions
        """

    /// Marks pending requests past their deadline, and approved ones past their window, expired.
    public func expireOverdue() throws {
        try database.execute(
            """
            UPDATE vercel_breakglass_requests SET status = 'expired'
            WHERE (status = 'pending' AND expires_at <= now()) OR (status = 'approved' AND window_ends_at <= now())
            """)
    }

    /// Called inside a step's transaction with the request as the step left it: the step's audit
    /// row and alert commit with it, or neither does.
    public typealias Recorder = (Request) throws -> Void

    /// A new request, pending.
    /// - Throws: `Refusal.dailyLimit` with the seconds until the requester may ask again,
    ///   `Refusal.unknownConnections` when a connection does not exist.
    public func create(
        requester: UUID, level: AccessLevel, connections: [UUID], justification: String,
        keyChange: KeyChange? = nil, recording record: Recorder
    ) throws -> Request {
        try database.transaction {
            // One requester's creates are serialized, so the daily count holds under concurrency.
            try database.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended('sheen.vercel.breakglass.' || \(requester.uuidString), 0))"
            )
            let recent = try database.query(
                """
                SELECT count(*) AS made, ceil(extract(epoch FROM min(created_at) + interval '24 hours' - now()))::int AS wait
                FROM vercel_breakglass_requests
                WHERE requested_by = \(requester) AND created_at > now() - interval '24 hours'
                """)[0]
            if try recent.decode("made", as: Int.self) >= Self.dailyLimit {
                throw Refusal.dailyLimit(retryAfterSeconds: max(1, try recent.decodeIfPresent("wait") ?? 1))
            }
            let ids = connections.map { $0.uuidString.lowercased() }
            let known: Int = try database.query(
                "SELECT count(*) AS known FROM vercel_connections WHERE id = ANY(\(ids)::uuid[])")[0].decode("known")
            guard known == Set(ids).count else { throw Refusal.unknownConnections }
            var required = level.requiredApprovals
            if let keyChange {
                let holders = try AdminKeyStore(database: database).activeHolders(
                    excluding: [requester, keyChange.adminId])
                guard holders > 0 else { throw Refusal.noQuorum }
                required = min(required, holders)
            }
            let id: UUID = try database.query(
                """
                INSERT INTO vercel_breakglass_requests (requested_by, justification, access_level, required_approvals,
                  connection_ids, expires_at, correlation_id, key_action, key_admin_id, key_public_key, key_fingerprint)
                VALUES (\(requester), \(justification), \(level.rawValue), \(required), \(ids)::uuid[],
                  now() + make_interval(secs => \(level.lifetimeSeconds)), \(Trace.requestID), \(keyChange?.action.rawValue),
                  \(keyChange?.adminId), \(keyChange?.publicKey), \(keyChange?.fingerprint))
                RETURNING id
                """)[0].decode("id")
            let request = try find(id)!
            try record(request)
            return request
        }
    }

    public func find(_ id: UUID) throws -> Request? {
        try database.query(
            "SELECT \(fragment: Self.columns) FROM vercel_breakglass_requests r WHERE r.id = \(id)"
        ).first.map(Self.request)
    }

    /// The request, its row locked until the transaction ends.
    private func locked(_ id: UUID) throws -> Request {
        guard
            let row = try database.query(
                "SELECT \(fragment: Self.columns) FROM vercel_breakglass_requests r WHERE r.id = \(id) FOR UPDATE OF r"
            ).first
        else { throw Refusal.notFound }
        return try Self.request(row)
    }

    /// Requests, newest first; with `status`, only those.
    public func list(status: String?, limit: Int) throws -> [Request] {
        try database.query(
            """
            SELECT \(fragment: Self.columns) FROM vercel_breakglass_requests r
            WHERE \(status)::text IS NULL OR r.status = \(status)
            ORDER BY r.created_at DESC LIMIT \(limit)
            """
        ).map(Self.request)
    }

    /// Checks the acting admin's signature over the request as it stands (locked) and spends its
    /// nonce; the signing key's fingerprint.
    public typealias Verifier = (Request) throws -> String

    /// Records `approver`'s decision on a pending request: a denial ends it; the approval that
    /// reaches the level's count approves it and opens its execution window (an ADMIN_KEY request
    /// takes effect then, and is executed).
    public func decide(
        _ id: UUID, approver: UUID, approve: Bool, verifying verify: Verifier, recording record: Recorder
    ) throws -> Request {
        try expireOverdue()
        return try database.transaction {
            let locked = try locked(id)
            let fingerprint = try verify(locked)
            guard locked.requestedBy != approver else { throw Refusal.selfApproval }
            guard locked.status == "pending" else { throw Refusal.notPending(status: locked.status) }
            if let change = locked.keyChange, change.adminId == approver { throw Refusal.ownKey }
            let level = locked.accessLevel
            do {
                try database.execute(
                    """
                    INSERT INTO vercel_breakglass_approvals (request_id, approver_id, decision, correlation_id, key_fingerprint)
                    VALUES (\(id), \(approver), \(approve ? "approve" : "deny"), \(Trace.requestID), \(fingerprint))
                    """)
            } catch let error as PostgresError where error.isUniqueViolation {
                throw Refusal.alreadyDecided
            }
            try database.execute(
                """
                UPDATE vercel_breakglass_requests r SET
                  status = CASE WHEN NOT \(approve) THEN 'denied' ELSE 'approved' END,
                  approved_at = CASE WHEN \(approve) THEN now() END,
                  window_ends_at = CASE WHEN \(approve) THEN now() + make_interval(secs => \(level.lifetimeSeconds)) END
                WHERE r.id = \(id) AND (NOT \(approve) OR r.required_approvals <= (
                  SELECT count(*) FROM vercel_breakglass_approvals a WHERE a.request_id = r.id AND a.decision = 'approve'))
                """)
            var request = try find(id)!
            if request.status == "approved", let change = request.keyChange {
                let approvers = request.decisions.filter { $0.decision == "approve" }.map(\.approverId)
                try AdminKeyStore(database: database).apply(change, request: id, approvers: approvers)
                try database.execute(
                    "UPDATE vercel_breakglass_requests SET status = 'executed', executed_at = now() WHERE id = \(id)")
                request = try find(id)!
            }
            try record(request)
            return request
        }
    }

    /// Executes an approved request inside its window, once, for its requester.
    public func execute(
        _ id: UUID, requester: UUID, verifying verify: Verifier, recording record: Recorder
    ) throws -> Request {
        try expireOverdue()
        return try database.transaction {
            let locked = try locked(id)
            _ = try verify(locked)
            guard locked.requestedBy == requester else { throw Refusal.notRequester }
            let executed = try database.execute(
                """
                UPDATE vercel_breakglass_requests SET status = 'executed', executed_at = now()
                WHERE id = \(id) AND status = 'approved' AND window_ends_at > now()
                """)
            guard executed == 1 else { throw Refusal.notExecutable(status: locked.status) }
            let request = try find(id)!
            try record(request)
            return request
        }
    }

    /// What break-glass may show of connections without opening a token.
    public struct ConnectionMetadata: Encodable, Sendable {
        public let id: String
        public let userId: String
        public let teamId: String?
        public let accountType: String
        public let status: String
        public let scopes: [String]?
        public let tokenExpiresAt: String?
        public let keyId: String?
    }

    public func metadata(of ids: [UUID]) throws -> [ConnectionMetadata] {
        try database.query(
            """
            SELECT id, user_id, team_id, account_type, status::text AS status,
                   array_to_json(granted_scopes)::text AS scopes, token_expires_at, token_key_id AS key_id
            FROM vercel_connections WHERE id = ANY(\(ids.map { $0.uuidString.lowercased() })::uuid[]) ORDER BY id
            """
        ).map { row in
            ConnectionMetadata(
                id: try row.decode("id"), userId: try row.decode("user_id"), teamId: try row.decodeIfPresent("team_id"),
                accountType: try row.decode("account_type"), status: try row.decode("status"),
                scopes: try row.decodeIfPresent("scopes", as: String.self).flatMap {
                    try JSONDecoder().decode([String]?.self, from: Data($0.utf8))
                },
                tokenExpiresAt: try row.decodeIfPresent("token_expires_at", as: Date.self).map { ISO8601.format($0) },
                keyId: try row.decodeIfPresent("key_id"))
        }
    }

    private static func request(_ row: PostgresRow) throws -> Request {
        struct DecisionRow: Decodable {
            let approverId: UUID
            let decision: String
            let decidedAt: Double
            let keyFingerprint: String?
        }
        let decoder = JSONDecoder()
        let decisions = try decoder.decode(
            [DecisionRow].self, from: Data(try row.decode("decisions", as: String.self).utf8))
        return Request(
            id: try row.decode("id"), requestedBy: try row.decode("requested_by"),
            accessLevel: AccessLevel(rawValue: try row.decode("access_level")) ?? .emergencyRecovery,
            connectionIds: try decoder.decode(
                [UUID].self, from: Data(try row.decode("connection_ids", as: String.self).utf8)),
            justification: try row.decode("justification"), status: try row.decode("status"),
            requiredApprovals: try row.decode("required_approvals"),
            decisions: decisions.map {
                Decision(
                    approverId: $0.approverId, decision: $0.decision,
                    decidedAt: Date(timeIntervalSince1970: $0.decidedAt), keyFingerprint: $0.keyFingerprint)
            },
            expiresAt: try row.decode("expires_at"), approvedAt: try row.decodeIfPresent("approved_at"),
            windowEndsAt: try row.decodeIfPresent("window_ends_at"), executedAt: try row.decodeIfPresent("executed_at"),
            createdAt: try row.decode("created_at"),
            keyChange: try row.decodeIfPresent("key_action", as: String.self).flatMap(KeyChange.Action.init).map {
                KeyChange(
                    action: $0, adminId: try row.decode("key_admin_id"),
                    publicKey: try row.decodeIfPresent("key_public_key"),
                    fingerprint: try row.decode("key_fingerprint"))
            })
    }
}
