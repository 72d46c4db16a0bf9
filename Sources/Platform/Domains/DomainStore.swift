import Kernel
import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A linked project's custom domains (`vercel_domains`), their health schedule, and the history of
/// their states (`vercel_domain_history`). A state change is written once, by whoever saw it first,
/// in the same transaction as its history row and its alert.
public struct DomainStore {
    let database: PostgresConnection

    public init(database: PostgresConnection) {
        self.database = database
    }

    /// A domain as stored.
    public struct Domain: Sendable {
        public let id: UUID
        public let projectID: UUID
        public let ownerID: UUID
        public let name: String
        public let status: DomainStatus
        public let lastCheckedAt: Date?
        public let createdAt: Date
        public let stateChangedAt: Date
        public let checkIntervalSeconds: Int
        /// The linked Vercel project and the connection that reaches it.
        public let vercelProjectID: String
        public let connectionID: UUID

        /// `PENDING`, `VERIFIED` or, for a domain never verified in time, `FAILED`.
        public var verificationStatus: String {
            switch status.state {
            case .abandoned: "FAILED"
            case .pending: "PENDING"
            case .removed: status.verified ? "VERIFIED" : "PENDING"
            default: "VERIFIED"
            }
        }

        /// What Vercel's reports say of the certificate: `PENDING` until the name is verified and
        /// points at Vercel, `ACTIVE` when a certificate can be issued, `FAILING` when the name
        /// points at Vercel but one cannot, `NONE` for a domain no longer served.
        public var sslStatus: String {
            switch status.state {
            case .pending, .misconfigured: "PENDING"
            case .certificateFailing: "FAILING"
            case .active: "ACTIVE"
            case .removed, .abandoned: "NONE"
            }
        }
    }

    /// A state change, as written to the history.
    public struct Transition: Sendable, Equatable {
        public let historyID: Int64
        public let from: String
        public let to: DomainState
    }

    /// Who saw a change.
    public enum Observer: String, Sendable {
        case request
        case job
    }

    public enum Refusal: Error, Equatable {
        /// The project already has this domain.
        case exists
        /// Another platform project has this domain.
        case inUseByAnotherProject
    }

    private static let columns: SQL = """
        d.id, d.project_id, p.owner_id, d.name, d.apex_name, d.state, d.state_reason, d.verified, d.configured,
        d.configured_by, d.verification_records::text AS verification_records, d.dns_records::text AS dns_records,
        d.redirect, d.redirect_status_code, d.last_checked_at, d.created_at, d.state_changed_at,
        d.check_interval_seconds, m.vercel_project_id, m.vercel_connection_id
        """

    private static let joins: SQL = """
        JOIN vercel_project_mappings m ON m.id = d.vercel_project_mapping_id
        JOIN projects p ON p.id = d.project_id
        """

    /// The project's domains, oldest first.
    public func list(projectID: UUID) throws -> [Domain] {
        try database.query(
            """
            SELECT \(fragment: Self.columns) FROM vercel_domains d \(fragment: Self.joins)
            WHERE d.project_id = \(projectID) ORDER BY d.created_at, d.name
            """
        ).map(Self.domain)
    }

    /// The project's domain `name` (ASCII form), whatever its state.
    public func find(projectID: UUID, name: String) throws -> Domain? {
        try database.query(
            """
            SELECT \(fragment: Self.columns) FROM vercel_domains d \(fragment: Self.joins)
            WHERE d.project_id = \(projectID) AND lower(d.name) = \(name)
            """
        ).first.map(Self.domain)
    }

    /// Whether a platform project other than `projectID` has `name` (not removed or abandoned).
    public func heldElsewhere(_ name: String, projectID: UUID) throws -> Bool {
        try !database.query(
            """
            SELECT 1 FROM vercel_domains
            WHERE lower(name) = \(name) AND project_id <> \(projectID) AND state NOT IN ('removed', 'abandoned')
            """
        ).isEmpty
    }

    /// Stores a domain just added on Vercel (or found there), replacing a removed or abandoned row
    /// of the same name, with its first history row.
    /// - Throws: `Refusal` when the project or another one already has it.
    public func add(
        _ name: String, link: LinkedProject, status: DomainStatus
    ) throws -> Domain {
        let (pending, pointing) = try Self.encoded(status)
        let interval = DomainSchedule.interval(after: status.state, changed: true, previous: 0)
        let inserted: [PostgresRow]
        do {
            inserted = try database.transaction {
                let rows = try database.query(
                    """
                    INSERT INTO vercel_domains (project_id, vercel_project_mapping_id, name, apex_name, state, state_reason,
                      verified, verification_status, configured, configured_by, verification_records, dns_records,
                      ssl_status, redirect, redirect_status_code, last_checked_at, next_check_at, check_interval_seconds)
                    VALUES (\(link.projectID), \(link.mappingID), \(name), \(status.apexName), \(status.state.rawValue),
                      \(status.reason), \(status.verified), \(status.verified ? "VERIFIED" : "PENDING")::vercel_domain_verification,
                      \(status.configured), \(status.configuredBy), \(pending)::jsonb, \(pointing)::jsonb, NULL,
                      \(status.redirect), \(status.redirectStatusCode), now(), now() + make_interval(secs => \(interval)),
                      \(interval))
                    ON CONFLICT (vercel_project_mapping_id, lower(name)) DO UPDATE SET
                      apex_name = excluded.apex_name, state = excluded.state, state_reason = excluded.state_reason,
                      verified = excluded.verified, verification_status = excluded.verification_status,
                      configured = excluded.configured, configured_by = excluded.configured_by,
                      verification_records = excluded.verification_records, dns_records = excluded.dns_records,
                      redirect = excluded.redirect, redirect_status_code = excluded.redirect_status_code,
                      last_checked_at = now(), next_check_at = excluded.next_check_at,
                      check_interval_seconds = excluded.check_interval_seconds, last_check_error = NULL,
                      created_at = now(), updated_at = now(), state_changed_at = now()
                    WHERE vercel_domains.state IN ('removed', 'abandoned')
                    RETURNING id
                    """)
                guard let id: UUID = try rows.first?.decode("id") else { return rows }
                try database.execute(
                    """
                    INSERT INTO vercel_domain_history (domain_id, project_id, name, from_state, to_state, reason, observed_by, correlation_id)
                    VALUES (\(id), \(link.projectID), \(name), 'none', \(status.state.rawValue), 'added to the project',
                      'request', \(Trace.requestID))
                    """)
                return rows
            }
        } catch let error as PostgresError where error.isUniqueViolation {
            throw Refusal.inUseByAnotherProject
        }
        guard let id: UUID = try inserted.first?.decode("id") else { throw Refusal.exists }
        return try database.query(
            "SELECT \(fragment: Self.columns) FROM vercel_domains d \(fragment: Self.joins) WHERE d.id = \(id)"
        ).first.map(Self.domain)!
    }

    /// Records what a check of `domain` found: its fields, the next check, and — when the state
    /// changed since it was stored — one history row and one `domain.status_changed` alert, in one
    /// transaction. The row is locked while it is written, so two observers of one change (a route
    /// and the job) write its history once.
    @discardableResult
    public func observe(
        _ domain: Domain, _ status: DomainStatus, by observer: Observer
    ) throws -> (domain: Domain, transition: Transition?) {
        let (pending, pointing) = try Self.encoded(status)
        let changed = status.state != domain.status.state
        let interval = DomainSchedule.interval(
            after: status.state, changed: changed, previous: domain.checkIntervalSeconds)
        let verification = status.state == .abandoned ? "FAILED" : status.verified ? "VERIFIED" : "PENDING"
        let transition: Transition? = try database.transaction {
            let rows = try database.query(
                """
                WITH previous AS (SELECT id, state FROM vercel_domains WHERE id = \(domain.id) FOR UPDATE),
                updated AS (
                  UPDATE vercel_domains d SET state = \(status.state.rawValue), state_reason = \(status.reason),
                    verified = \(status.verified), verification_status = \(verification)::vercel_domain_verification,
                    configured = \(status.configured), configured_by = \(status.configuredBy),
                    apex_name = coalesce(\(status.apexName), d.apex_name),
                    verification_records = \(pending)::jsonb, dns_records = \(pointing)::jsonb,
                    redirect = CASE WHEN \(status.state.rawValue) = 'removed' THEN d.redirect ELSE \(status.redirect) END,
                    redirect_status_code = CASE WHEN \(status.state.rawValue) = 'removed' THEN d.redirect_status_code
                      ELSE \(status.redirectStatusCode) END,
                    last_checked_at = now(), last_check_error = NULL, updated_at = now(),
                    state_changed_at = CASE WHEN previous.state <> \(status.state.rawValue) THEN now() ELSE d.state_changed_at END,
                    check_interval_seconds = \(interval), next_check_at = now() + make_interval(secs => \(interval))
                  FROM previous WHERE d.id = previous.id
                  RETURNING d.id, d.project_id, d.name, previous.state AS from_state)
                INSERT INTO vercel_domain_history (domain_id, project_id, name, from_state, to_state, reason, observed_by, correlation_id)
                SELECT id, project_id, name, from_state, \(status.state.rawValue), \(status.reason), \(observer.rawValue),
                  \(Trace.requestID)
                FROM updated WHERE from_state <> \(status.state.rawValue)
                RETURNING id, from_state
                """)
            guard let row = rows.first else { return nil }
            let transition = Transition(
                historyID: try row.decode("id"), from: try row.decode("from_state"), to: status.state)
            let broke = DomainState(rawValue: transition.from).map { status.state.isBreakage(from: $0) } ?? false
            try AlertOutbox(database: database).enqueue(
                "domain.status_changed", severity: broke ? .warning : .info, userID: domain.ownerID,
                projectID: domain.projectID,
                data: StatusChanged(
                    domain: domain.name, from: transition.from, to: status.state.rawValue, reason: status.reason,
                    observedBy: observer.rawValue),
                dedupKey: "domain-history:\(transition.historyID)")
            return transition
        }
        let stored = try database.query(
            "SELECT \(fragment: Self.columns) FROM vercel_domains d \(fragment: Self.joins) WHERE d.id = \(domain.id)"
        ).first.map(Self.domain)
        return (stored ?? domain, transition)
    }

    private struct StatusChanged: Encodable {
        let domain: String
        let from: String
        let to: String
        let reason: String
        let observedBy: String
    }

    /// Claims up to `limit` domains due for a check (`FOR UPDATE SKIP LOCKED`, so runs on several
    /// hosts share them), pushing each one's next check out by `lease` seconds so that a run that
    /// dies does not leave it unchecked for long. Reads only the due rows, through
    /// `vercel_domains_due_idx`.
    public func claimDue(limit: Int, lease: Int = 300) throws -> [Domain] {
        let ids: [UUID] = try database.query(Self.claimStatement(limit: limit, lease: lease)).map {
            try $0.decode("id")
        }
        guard !ids.isEmpty else { return [] }
        return try database.query(
            """
            SELECT \(fragment: Self.columns) FROM vercel_domains d \(fragment: Self.joins)
            WHERE d.id = ANY(\(ids.map { $0.uuidString.lowercased() })::uuid[])
            """
        ).map(Self.domain)
    }

    /// The claim, alone: `EXPLAIN` shows what it reads.
    public static func claimStatement(limit: Int, lease: Int) -> SQL {
        """
        UPDATE vercel_domains SET next_check_at = now() + make_interval(secs => \(lease))
        WHERE id IN (
          SELECT id FROM vercel_domains
          WHERE state NOT IN ('removed', 'abandoned') AND next_check_at <= now()
          ORDER BY next_check_at LIMIT \(limit) FOR UPDATE SKIP LOCKED)
        RETURNING id
        """
    }

    /// A check that could not be made (Vercel failing, the connection gone): tried again after the
    /// wait doubles, the state left as it was.
    public func checkFailed(_ domain: Domain, reason: String) throws {
        let interval = DomainSchedule.interval(
            after: .pending, changed: false, previous: domain.checkIntervalSeconds)
        try database.execute(
            """
            UPDATE vercel_domains SET last_check_error = \(String(reason.prefix(500))), updated_at = now(),
              check_interval_seconds = \(interval), next_check_at = now() + make_interval(secs => \(interval))
            WHERE id = \(domain.id)
            """)
    }

    /// Deletes the project's domain `name` and the project's domains that redirected to it (Vercel
    /// removes those with it), with a history row each; the names of those redirects.
    public func remove(_ domain: Domain) throws -> [String] {
        try database.transaction {
            let rows = try database.query(
                """
                DELETE FROM vercel_domains
                WHERE project_id = \(domain.projectID) AND (id = \(domain.id) OR lower(redirect) = \(domain.name))
                RETURNING id, name, state
                """)
            for row in rows {
                try database.execute(
                    """
                    INSERT INTO vercel_domain_history (domain_id, project_id, name, from_state, to_state, reason, observed_by, correlation_id)
                    VALUES (\(try row.decode("id", as: UUID.self)), \(domain.projectID), \(try row.decode("name", as: String.self)),
                      \(try row.decode("state", as: String.self)), 'deleted', 'removed from the project by its owner',
                      'request', \(Trace.requestID))
                    """)
            }
            return try rows.compactMap { row -> String? in
                let id: UUID = try row.decode("id")
                return id == domain.id ? nil : try row.decode("name")
            }
        }
    }

    private static func encoded(_ status: DomainStatus) throws -> (String, String) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (
            String(decoding: try encoder.encode(status.pendingRecords), as: UTF8.self),
            String(decoding: try encoder.encode(status.pointingRecords), as: UTF8.self)
        )
    }

    private static func domain(_ row: PostgresRow) throws -> Domain {
        let decoder = JSONDecoder()
        let state = DomainState(rawValue: try row.decode("state")) ?? .pending
        return Domain(
            id: try row.decode("id"), projectID: try row.decode("project_id"), ownerID: try row.decode("owner_id"),
            name: try row.decode("name"),
            status: DomainStatus(
                state: state, verified: try row.decode("verified"), configured: try row.decode("configured"),
                configuredBy: try row.decodeIfPresent("configured_by"),
                pendingRecords: try decoder.decode(
                    [DomainRecord].self, from: Data(try row.decode("verification_records", as: String.self).utf8)),
                pointingRecords: try decoder.decode(
                    [DomainRecord].self, from: Data(try row.decode("dns_records", as: String.self).utf8)),
                apexName: try row.decodeIfPresent("apex_name"), redirect: try row.decodeIfPresent("redirect"),
                redirectStatusCode: try row.decodeIfPresent("redirect_status_code"),
                reason: try row.decodeIfPresent("state_reason") ?? ""),
            lastCheckedAt: try row.decodeIfPresent("last_checked_at"), createdAt: try row.decode("created_at"),
            stateChangedAt: try row.decode("state_changed_at"),
            checkIntervalSeconds: try row.decode("check_interval_seconds"),
            vercelProjectID: try row.decode("vercel_project_id"), connectionID: try row.decode("vercel_connection_id"))
    }
}
