import FastCGI
import Kernel
import Platform
import PlatformHost

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `POST /v1/projects/:projectId/vercel/deployment-override`: a token that lets production take a
/// deployment the guardrails block. Only its SHA-256 is stored, with its reason, expiry and number
/// of uses; each use is taken atomically, and every issue, use and refusal is audited.
enum DeploymentOverrides {
    struct Input: Decodable {
        let reason: String
        let expiresInMinutes: Int?
        let maxUses: Int?
    }

    struct Issued: Encodable {
        let overrideToken: String
        let overrideId: String
        let expiresAt: Date
        let maxUses: Int
    }

    private struct IssueDetails: Encodable {
        let overrideId: String
        let reason: String
        let maxUses: Int
        let expiresAt: String
    }

    @Sendable static func issue(_ call: PlatformCall<Input>, _ context: WorkerServices) throws -> Response {
        let reason = call.input.reason
        guard (1...1000).contains(reason.unicodeScalars.count), reason.contains(where: { !$0.isWhitespace }) else {
            throw DeploymentsError.invalidReason
        }
        let minutes = call.input.expiresInMinutes ?? 60
        guard (1...1440).contains(minutes) else { throw DeploymentsError.invalidExpiry }
        let maxUses = call.input.maxUses ?? 1
        guard (1...100).contains(maxUses) else { throw DeploymentsError.invalidMaxUses }
        _ = try call.linkedProject()
        let issued = try context.overrides.issue(
            project: call.projectID, reason: reason, createdBy: call.caller.userID, minutes: minutes, maxUses: maxUses)
        let id = issued.id.uuidString.lowercased()
        try context.audit.record(
            .deploymentOverrideIssued, severity: .medium, actor: call.caller.userID, project: call.projectID,
            details: IssueDetails(
                overrideId: id, reason: reason, maxUses: maxUses, expiresAt: ISO8601.format(issued.expiresAt)))
        return .json(
            Issued(overrideToken: issued.token, overrideId: id, expiresAt: issued.expiresAt, maxUses: maxUses),
            status: 201)
    }

    private struct PassDetails: Encodable {
        let action: String
        let warnings: [String]
        let deploymentId: String?
        var overrideId: String?
        var use: Int?
        var maxUses: Int?
    }

    /// Lets a blocked action through with `token`, or throws 403 `DEPLOYMENT_BLOCKED`. Without a
    /// token, or with one that is unknown, of another project, expired or used up, the block stands.
    /// - Returns: the use taken, to refund if the action does not happen; nil when nothing blocks.
    static func pass<Input: Decodable>(
        _ guardrail: DeploymentGuardrail, token: String?, action: String, deploymentID: String? = nil, project: UUID,
        call: PlatformCall<Input>, context: WorkerServices
    ) throws -> OverrideTokenStore.Use? {
        guard guardrail.isBlocked else { return nil }
        var details = PassDetails(action: action, warnings: guardrail.warnings, deploymentId: deploymentID)
        func audit(_ event: AuditAction, _ severity: SecurityAudit.Severity) throws {
            try context.audit.record(
                event, severity: severity, actor: call.caller.userID, project: project, details: details)
        }
        guard let token else {
            try audit(.deploymentBlocked, .medium)
            throw DeploymentsError.deploymentBlocked(warnings: guardrail.warnings, overrideRejected: false)
        }
        guard let use = try context.overrides.takeUse(of: token, project: project) else {
            try audit(.deploymentOverrideRejected, .high)
            throw DeploymentsError.deploymentBlocked(warnings: guardrail.warnings, overrideRejected: true)
        }
        details.overrideId = use.id.uuidString.lowercased()
        details.use = use.use
        details.maxUses = use.maxUses
        try audit(.deploymentOverrideUsed, .high)
        return use
    }
}
