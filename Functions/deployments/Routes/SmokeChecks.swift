import FastCGI
import Platform
import PlatformHost

/// `GET` and `PUT /v1/projects/:projectId/vercel/checks`: the smoke checks a project's deployments
/// are probed with before they may serve production. `PUT {"checks": [...]}` replaces them whole
/// (at most ten; an empty list returns to the default: the root answers 2xx with a body), and
/// `"enabled": false` turns them off; `rollback` sets rollback on its own after a promotion.
enum SmokeChecks {
    struct Input: Decodable {
        let checks: [Entry]
        /// False turns the project's checks off: its deployments are promoted unchecked.
        let enabled: Bool?
        /// Rollback on its own after a promotion; the standard settings when absent.
        let rollback: SmokeCheckStore.Rollback?

        /// One entry as sent: `latencyBudgetMs` defaults to 5000.
        struct Entry: Decodable {
            let path: String
            let expectStatus: Int?
            let contains: String?
            let latencyBudgetMs: Int?

            var check: SmokeCheck {
                SmokeCheck(
                    path: path, expectStatus: expectStatus, contains: contains, latencyBudgetMs: latencyBudgetMs ?? 5000
                )
            }
        }
    }

    private struct AuditDetails: Encodable {
        let changed: [String]
        let checks: Int
        let enabled: Bool
        let rollback: SmokeCheckStore.Rollback
    }

    @Sendable static func get(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        let link = try call.linkedProject()
        return .json(try context.smokeChecks.settings(mappingID: link.mappingID))
    }

    @Sendable static func put(_ call: PlatformCall<Input>, _ context: WorkerServices) throws -> Response {
        let checks = call.input.checks.map(\.check)
        guard checks.count <= SmokeCheck.perProject else {
            throw DeploymentsError.invalidSmokeCheck("a project has at most \(SmokeCheck.perProject) checks")
        }
        for (index, check) in checks.enumerated() {
            if let problem = check.problem { throw DeploymentsError.invalidSmokeCheck("checks[\(index)]: \(problem)") }
        }
        let rollback = call.input.rollback ?? .standard
        if let problem = rollback.problem { throw DeploymentsError.invalidSmokeCheck(problem) }
        let link = try call.linkedProject()
        let settings = try context.smokeChecks.replace(
            mappingID: link.mappingID, with: checks, enabled: call.input.enabled ?? true, rollback: rollback,
            by: call.caller.userID)
        // Turning a safety net off is worth an operator's look.
        try context.audit.record(
            .vercelProjectSettingsChanged, severity: settings.enabled && rollback.enabled ? .low : .medium,
            actor: call.caller.userID, project: call.projectID,
            details: AuditDetails(
                changed: ["smokeChecks"], checks: checks.count, enabled: settings.enabled, rollback: rollback))
        return .json(settings)
    }
}
