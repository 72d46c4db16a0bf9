import Kernel
import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Auto-deploy's settings and rules, the decision recorded for every delivery, and the approvals
/// that wait for a person. The switch and branch patterns are the link's (the link routes edit
/// them too); the target and approval setting live in `vercel_auto_deploy_configs`.
public struct AutoDeployStore {
    let database: PostgresConnection

    public init(database: PostgresConnection) {
        self.database = database
    }

    public static let ruleLimit = 50
    /// How long an approval waits before it expires.
    public static let approvalLifetime: Duration = .seconds(7 * 24 * 3600)

    /// The settings of a linked project.
    public func settings(_ projectID: UUID) throws -> AutoDeploySettings? {
        guard
            let row = try database.query(
                """
                SELECT \(fragment: Self.settingsColumns)
                FROM vercel_project_mappings m LEFT JOIN vercel_auto_deploy_configs c ON c.project_id = m.project_id
                WHERE m.project_id = \(projectID)
                """
            ).first
        else { return nil }
        return try Self.settings(row)
    }

    /// The columns of the settings, aliased `m` (the mapping) and `c` (the auto-deploy config).
    static let settingsColumns: SQL = """
        m.auto_deploy, array_to_json(m.deployment_branch_patterns)::text AS patterns, m.production_branch,
        coalesce(c.target_environment, 'auto') AS target_environment, coalesce(c.requires_approval, false) AS requires_approval
        """

    /// The settings in `row`, read with `settingsColumns`.
    static func settings(_ row: PostgresRow) throws -> AutoDeploySettings {
        AutoDeploySettings(
            enabled: try row.decode("auto_deploy"),
            branchPatterns: try JSONDecoder().decode(
                [String].self, from: Data(try row.decode("patterns", as: String.self).utf8)),
            targetEnvironment: try row.decode("target_environment"),
            requiresApproval: try row.decode("requires_approval"),
            productionBranch: try row.decode("production_branch"))
    }

    /// Changes to the settings; nil leaves one as it is.
    public struct Changes: Sendable {
        public var enabled: Bool?
        public var branchPatterns: [String]?
        public var targetEnvironment: AutoDeployMode?
        public var requiresApproval: Bool?

        public init(
            enabled: Bool?, branchPatterns: [String]?, targetEnvironment: AutoDeployMode?, requiresApproval: Bool?
        ) {
            self.enabled = enabled
            self.branchPatterns = branchPatterns
            self.targetEnvironment = targetEnvironment
            self.requiresApproval = requiresApproval
        }
    }

    public func update(_ projectID: UUID, _ changes: Changes) throws -> AutoDeploySettings? {
        try database.transaction {
            try database.execute(
                """
                UPDATE vercel_project_mappings SET auto_deploy = coalesce(\(changes.enabled)::boolean, auto_deploy),
                  deployment_branch_patterns = coalesce(\(changes.branchPatterns)::text[], deployment_branch_patterns), updated_at = now()
                WHERE project_id = \(projectID)
                """)
            try database.execute(
                """
                INSERT INTO vercel_auto_deploy_configs AS c (project_id, target_environment, requires_approval)
                VALUES (\(projectID), coalesce(\(changes.targetEnvironment), 'auto'), coalesce(\(changes.requiresApproval)::boolean, false))
                ON CONFLICT (project_id) DO UPDATE SET
                  target_environment = coalesce(\(changes.targetEnvironment), c.target_environment),
                  requires_approval = coalesce(\(changes.requiresApproval)::boolean, c.requires_approval), updated_at = now()
                """)
            return try settings(projectID)
        }
    }

    // MARK: Rules

    public func rules(_ projectID: UUID) throws -> [AutoDeployRule] {
        try database.query(
            """
            SELECT pattern, target, requires_approval FROM vercel_auto_deploy_rules
            WHERE project_id = \(projectID) ORDER BY position, created_at
            """
        ).map {
            AutoDeployRule(
                pattern: try $0.decode("pattern"), target: try $0.decode("target"),
                requiresApproval: try $0.decode("requires_approval"))
        }
    }

    public enum RuleRefusal: Error, Equatable {
        case exists
        case tooMany
    }

    /// Adds `rule` after the others. Serialized per project, so the limit holds under concurrency.
    public func add(_ rule: AutoDeployRule, to projectID: UUID) throws -> Result<[AutoDeployRule], RuleRefusal> {
        try database.transaction {
            try database.lockForTransaction("vercel.auto-deploy.rules:\(projectID)")
            let existing = try rules(projectID)
            if existing.contains(where: { $0.pattern == rule.pattern }) { return .failure(.exists) }
            guard existing.count < Self.ruleLimit else { return .failure(.tooMany) }
            try database.execute(
                """
                INSERT INTO vercel_auto_deploy_rules (project_id, pattern, target, requires_approval, position)
                VALUES (\(projectID), \(rule.pattern), \(rule.target), \(rule.requiresApproval),
                  (SELECT coalesce(max(position) + 1, 0) FROM vercel_auto_deploy_rules WHERE project_id = \(projectID)))
                """)
            return .success(try rules(projectID))
        }
    }

    public func removeRule(_ pattern: String, from projectID: UUID) throws -> Bool {
        try database.execute(
            "DELETE FROM vercel_auto_deploy_rules WHERE project_id = \(projectID) AND pattern = \(pattern)") > 0
    }

    // MARK: Deliveries

    /// One decision about one change of a delivery.
    public struct Event: Sendable {
        public var provider: GitProvider
        public var deliveryID: String
        public var item: Int
        public var change: GitDelivery.Change
        public var decision: GitDecision
        public var reason: String
        public var target: DeployTarget?
        public var deploymentID: String?
        public var approvalID: UUID?
        public var receivedAt: Date?

        public init(
            provider: GitProvider, deliveryID: String, item: Int, change: GitDelivery.Change, decision: GitDecision,
            reason: String, target: DeployTarget? = nil, deploymentID: String? = nil, approvalID: UUID? = nil
        ) {
            self.provider = provider
            self.deliveryID = deliveryID
            self.item = item
            self.change = change
            self.decision = decision
            self.reason = reason
            self.target = target
            self.deploymentID = deploymentID
            self.approvalID = approvalID
        }
    }

    /// What deciding a delivery for a project needs, read in one statement.
    public struct Deciding: Sendable {
        /// Whether the delivery was recorded for the project already.
        public let seen: Bool
        public let owner: UUID?
        /// Nil when the project is not linked.
        public let link: LinkedProject?
        public let settings: AutoDeploySettings?
        public let rules: [AutoDeployRule]
    }

    /// The project's owner, link, auto-deploy settings and rules, and whether `deliveryID` of
    /// `provider` was recorded for it; nil when there is no such project.
    public func deciding(_ projectID: UUID, provider: GitProvider, deliveryID: String) throws -> Deciding? {
        guard
            let row = try database.query(
                """
                SELECT p.owner_id,
                  EXISTS (SELECT 1 FROM vercel_git_deliveries d WHERE d.project_id = p.id
                          AND d.provider = \(provider.rawValue) AND d.delivery_id = \(deliveryID)) AS seen,
                  \(fragment: ProjectLinkStore.columns), \(fragment: Self.settingsColumns),
                  (SELECT coalesce(json_agg(json_build_object('pattern', r.pattern, 'target', r.target,
                            'requiresApproval', r.requires_approval) ORDER BY r.position, r.created_at), '[]')::text
                   FROM vercel_auto_deploy_rules r WHERE r.project_id = p.id) AS rules
                FROM projects p
                LEFT JOIN vercel_project_mappings m ON m.project_id = p.id
                LEFT JOIN vercel_auto_deploy_configs c ON c.project_id = p.id
                WHERE p.id = \(projectID)
                """
            ).first
        else { return nil }
        let link = try ProjectLinkStore.linkedProject(projectID, row)
        let settings = try link.map { _ in try Self.settings(row) }
        let rules = try JSONDecoder().decode(
            [StoredRule].self, from: Data(try row.decode("rules", as: String.self).utf8))
        return Deciding(
            seen: try row.decode("seen"), owner: try row.decodeIfPresent("owner_id"), link: link, settings: settings,
            rules: rules.map {
                AutoDeployRule(pattern: $0.pattern, target: $0.target, requiresApproval: $0.requiresApproval)
            })
    }

    private struct StoredRule: Decodable {
        let pattern: String
        let target: DeployTarget
        let requiresApproval: Bool
    }

    /// Records a decision, in one statement: a failed one is queued (`git.deploy`) with it, for the
    /// retry job to decide again. False when the delivery's item was recorded already (a concurrent
    /// redelivery recorded it first).
    @discardableResult
    public func record(_ event: Event, projectID: UUID, repository: String?) throws -> Bool {
        let change = event.change
        let rows = try database.query(
            """
            WITH inserted AS (
              INSERT INTO vercel_git_deliveries (project_id, provider, delivery_id, item, kind, repository, branch, commit_sha,
                committed_at, pr_number, from_fork, decision, reason, target, deployment_id, approval_id, correlation_id)
              VALUES (\(projectID), \(event.provider.rawValue), \(event.deliveryID), \(event.item), \(change.kind),
                \(repository.map { String($0.prefix(255)) }), \(change.branch.map { String($0.prefix(255)) }),
                \(Self.validSha(change.commitSha)), \(change.committedAt),
                \(change.prNumber.flatMap { $0 > 0 && $0 <= Int(Int32.max) ? $0 : nil }), \(change.fromFork), \(event.decision),
                \(String(event.reason.prefix(500))), \(event.target), \(event.deploymentID), \(event.approvalID), \(Trace.requestID))
              ON CONFLICT (project_id, provider, delivery_id, item) DO NOTHING
              RETURNING id, decision),
            queued AS (
              INSERT INTO vercel_jobs (kind, payload, dedup_key, correlation_id, run_after)
              SELECT 'git.deploy', jsonb_build_object('deliveryRowId', id), id::text, \(Trace.requestID), now() + interval '30 seconds'
              FROM inserted WHERE decision = 'failed'
              ON CONFLICT (kind, dedup_key) WHERE dedup_key IS NOT NULL AND status IN ('pending', 'running') DO NOTHING)
            SELECT count(*) AS inserted FROM inserted
            """)
        return try rows[0].decode("inserted", as: Int.self) > 0
    }

    /// A delivery whose deployment failed, as stored, for the retry job.
    public struct FailedDelivery: Sendable {
        public let rowID: Int64
        public let projectID: UUID
        public let provider: GitProvider
        public let deliveryID: String
        public let item: Int
        public let repository: String
        public let change: GitDelivery.Change
    }

    public func failedDelivery(rowID: Int64) throws -> FailedDelivery? {
        guard
            let row = try database.query(
                """
                SELECT id, project_id, provider, delivery_id, item, kind, repository, branch, commit_sha, committed_at, pr_number, from_fork
                FROM vercel_git_deliveries WHERE id = \(rowID) AND decision = 'failed'
                """
            ).first,
            let provider = GitProvider(rawValue: try row.decode("provider")), let repository = row["repository"]
        else { return nil }
        let change = try Self.change(of: row)
        return FailedDelivery(
            rowID: rowID, projectID: try row.decode("project_id"), provider: provider,
            deliveryID: try row.decode("delivery_id"), item: try row.decode("item"), repository: repository,
            change: change)
    }

    /// What a delivery row says changed: its kind, branch, commit and pull request.
    private static func change(of row: PostgresRow) throws -> GitDelivery.Change {
        var change = GitDelivery.Change(kind: try row.decode("kind"))
        change.branch = row["branch"]
        change.commitSha = row["commit_sha"]
        change.committedAt = try row.decodeIfPresent("committed_at")
        change.prNumber = try row.decodeIfPresent("pr_number")
        change.fromFork = try row.decode("from_fork")
        return change
    }

    func isFailed(_ failed: FailedDelivery, projectID: UUID) throws -> Bool {
        try !database.query(
            "SELECT 1 FROM vercel_git_deliveries WHERE id = \(failed.rowID) AND project_id = \(projectID) AND decision = 'failed'"
        ).isEmpty
    }

    /// Stores the new decision of a failed delivery.
    func redecide(_ event: Event, projectID: UUID) throws {
        try database.execute(
            """
            UPDATE vercel_git_deliveries SET decision = \(event.decision), reason = \(String(event.reason.prefix(500))),
              target = \(event.target), deployment_id = \(event.deploymentID), approval_id = \(event.approvalID)
            WHERE project_id = \(projectID) AND provider = \(event.provider.rawValue) AND delivery_id = \(event.deliveryID)
              AND item = \(event.item) AND decision = 'failed'
            """)
    }

    /// A page of a project's events, newest first; the cursor is the last id seen.
    public func events(_ projectID: UUID, before cursor: Int64?, limit: Int) throws -> (events: [Event], next: Int64?) {
        let rows = try database.query(
            """
            SELECT id, provider, delivery_id, item, kind, branch, commit_sha, committed_at, pr_number, from_fork, decision, reason,
              target, deployment_id, approval_id, received_at
            FROM vercel_git_deliveries
            WHERE project_id = \(projectID) AND id < coalesce(\(cursor)::bigint, 9223372036854775807)
            ORDER BY id DESC LIMIT \(limit + 1)
            """)
        let page = try rows.prefix(limit).map { row -> Event in
            let change = try Self.change(of: row)
            var event = Event(
                provider: GitProvider(rawValue: try row.decode("provider")) ?? .github,
                deliveryID: try row.decode("delivery_id"), item: try row.decode("item"), change: change,
                decision: try row.decode("decision"), reason: try row.decode("reason"),
                target: try row.decodeIfPresent("target"),
                deploymentID: row["deployment_id"], approvalID: try row.decodeIfPresent("approval_id"))
            event.receivedAt = try row.decodeIfPresent("received_at")
            return event
        }
        let next: Int64? = rows.count > limit ? try rows[limit - 1].decode("id") : nil
        return (page, next)
    }

    static func validSha(_ sha: String?) -> String? {
        guard let sha, isValidSha(sha) else { return nil }
        return sha
    }

    /// 7 to 64 lowercase hex digits: an abbreviated or full SHA-1 or SHA-256 commit id.
    public static func isValidSha(_ sha: String) -> Bool {
        (7...64).contains(sha.utf8.count)
            && sha.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    // MARK: Approvals

    public struct Approval: Sendable {
        public let id: UUID
        public let provider: GitProvider
        public let repository: String
        public let branch: String
        public let commitSha: String
        public let committedAt: Date?
        public let prNumber: Int?
        public let fromFork: Bool
        public let target: DeployTarget
        public let reason: String
        public let status: String
        public let expiresAt: Date
        public let deploymentID: String?
        public let decidedBy: UUID?
        public let createdAt: Date

        init(_ row: PostgresRow) throws {
            id = try row.decode("id")
            provider = GitProvider(rawValue: try row.decode("provider")) ?? .github
            repository = try row.decode("repository")
            branch = try row.decode("branch")
            commitSha = try row.decode("commit_sha")
            committedAt = try row.decodeIfPresent("committed_at")
            prNumber = try row.decodeIfPresent("pr_number")
            fromFork = try row.decode("from_fork")
            target = try row.decode("target")
            reason = try row.decode("reason")
            status = try row.decode("status")
            expiresAt = try row.decode("expires_at")
            deploymentID = row["deployment_id"]
            decidedBy = try row.decodeIfPresent("decided_by")
            createdAt = try row.decode("created_at")
        }
    }

    static let approvalColumns: SQL =
        "id, provider, repository, branch, commit_sha, committed_at, pr_number, from_fork, target, reason, status, expires_at, deployment_id, decided_by, created_at"

    /// The pending approval for this commit: an older commit's pending approval for the same branch
    /// or pull request is superseded, and the same commit delivered again finds the one it made.
    /// Nil when a newer commit has replaced this one there (its approval was superseded, or a
    /// newer commit's is on record): it never waits again.
    public func requestApproval(
        projectID: UUID, provider: GitProvider, repository: String, change: GitDelivery.Change, sha: String,
        target: DeployTarget, reason: String
    ) throws -> Approval? {
        try database.transaction { () throws -> Approval? in
            try database.lockForTransaction("vercel.auto-deploy.approvals:\(projectID):\(change.subject)")
            // A commit a newer one replaced on this pull request (or branch) stays replaced, whatever
            // delivery brings it again: its signed body can be replayed under a new delivery id.
            let replaced = try database.query(
                """
                SELECT 1 AS replaced FROM vercel_deployment_approvals
                WHERE project_id = \(projectID) AND subject = \(change.subject)
                  AND ((commit_sha = \(sha) AND status = 'superseded')
                    OR (commit_sha <> \(sha) AND committed_at > \(change.committedAt)::timestamptz))
                LIMIT 1
                """)
            guard replaced.isEmpty else { return nil }
            try database.execute(
                """
                UPDATE vercel_deployment_approvals SET status = 'superseded', decided_at = now()
                WHERE project_id = \(projectID) AND subject = \(change.subject) AND status = 'pending'
                  AND (commit_sha <> \(sha) OR target <> \(target))
                """)
            if let pending = try database.query(
                """
                SELECT \(fragment: Self.approvalColumns) FROM vercel_deployment_approvals
                WHERE project_id = \(projectID) AND subject = \(change.subject) AND status = 'pending'
                """
            ).first {
                return try Approval(pending)
            }
            return try Approval(
                try database.query(
                    """
                    INSERT INTO vercel_deployment_approvals (project_id, provider, repository, subject, branch, commit_sha, committed_at,
                      pr_number, from_fork, target, reason, expires_at, correlation_id)
                    VALUES (\(projectID), \(provider.rawValue), \(repository), \(change.subject), \(change.branch ?? ""), \(sha),
                      \(change.committedAt), \(change.prNumber), \(change.fromFork), \(target), \(String(reason.prefix(500))),
                      now() + make_interval(secs => \(Int(Self.approvalLifetime.components.seconds))), \(Trace.requestID))
                    RETURNING \(fragment: Self.approvalColumns)
                    """)[0])
        }
    }

    /// A project's approvals, newest first, expiring the pending ones past their time first.
    public func approvals(_ projectID: UUID, status: String?, limit: Int = 100) throws -> [Approval] {
        try expire(projectID)
        return try database.query(
            """
            SELECT \(fragment: Self.approvalColumns) FROM vercel_deployment_approvals
            WHERE project_id = \(projectID) AND (\(status)::text IS NULL OR status = \(status))
            ORDER BY created_at DESC LIMIT \(limit)
            """
        ).map(Approval.init)
    }

    public func approval(_ id: UUID, projectID: UUID) throws -> Approval? {
        try expire(projectID)
        return try database.query(
            "SELECT \(fragment: Self.approvalColumns) FROM vercel_deployment_approvals WHERE id = \(id) AND project_id = \(projectID)"
        ).first.map(Approval.init)
    }

    /// Takes the decision on a pending approval: nil when it is not pending (decided, superseded,
    /// expired) or unknown.
    public func decide(_ id: UUID, projectID: UUID, approve: Bool, by userID: UUID) throws -> Approval? {
        try expire(projectID)
        return try database.query(
            """
            UPDATE vercel_deployment_approvals SET status = \(approve ? "approved" : "denied"), decided_by = \(userID), decided_at = now()
            WHERE id = \(id) AND project_id = \(projectID) AND status = 'pending' AND expires_at > now()
            RETURNING \(fragment: Self.approvalColumns)
            """
        ).first.map(Approval.init)
    }

    /// Puts an approval whose deployment could not be made back to pending, so it can be approved
    /// again.
    public func reopen(_ id: UUID) throws {
        try database.execute(
            """
            UPDATE vercel_deployment_approvals SET status = 'pending', decided_by = NULL, decided_at = NULL
            WHERE id = \(id) AND status = 'approved' AND deployment_id IS NULL
            """)
    }

    public func deployed(_ id: UUID, deploymentID: String) throws {
        try database.execute("UPDATE vercel_deployment_approvals SET deployment_id = \(deploymentID) WHERE id = \(id)")
    }

    func expire(_ projectID: UUID) throws {
        try database.execute(
            """
            UPDATE vercel_deployment_approvals SET status = 'expired'
            WHERE project_id = \(projectID) AND status = 'pending' AND expires_at <= now()
            """)
    }
}
