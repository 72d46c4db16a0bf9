#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Crypto
import FastCGI
import Platform
import Postgres

/// `POST /v1/projects/:projectId/vercel/deployment-override`: a token that lets production take a
/// deployment the guardrails block. Only its SHA-256 is stored, with its reason, expiry and number
/// of uses; each use is taken atomically, and every issue, use and refusal is audited.
enum DeploymentOverrides {
    struct Body: Decodable {
        let userId: String
        let reason: String
        let expiresInMinutes: Int?
        let maxUses: Int?
    }

    @Sendable static func issue(_ request: Request, _ context: RequestContext, _ caller: PlatformCaller) throws -> Response {
        let body = try request.decodeJSON(Body.self)
        let projectID = try request.projectID()
        let reason = body.reason
        guard (1...1000).contains(reason.count), reason.contains(where: { !$0.isWhitespace }) else {
            throw HTTPError.badRequest("reason must be 1 to 1000 characters", code: "INVALID_REASON")
        }
        let minutes = body.expiresInMinutes ?? 60
        guard (1...1440).contains(minutes) else {
            throw HTTPError.badRequest("expiresInMinutes must be 1 to 1440", code: "INVALID_EXPIRY")
        }
        let maxUses = body.maxUses ?? 1
        guard (1...100).contains(maxUses) else { throw HTTPError.badRequest("maxUses must be 1 to 100", code: "INVALID_MAX_USES") }
        _ = try LinkedProject.load(projectID, database: context.database)
        let token = "ovr_" + (try SecureRandom.token(byteCount: 32))
        let row = try context.database.query(
            """
            INSERT INTO vercel_override_tokens (project_id, token_hash, reason, created_by, expires_at, max_uses, correlation_id)
            VALUES (\(projectID), \(Digest.sha256Hex(token)), \(reason), \(caller.userID), now() + make_interval(mins => \(minutes)),
              \(maxUses), \(request.requestID))
            RETURNING id, expires_at
            """)[0]
        let id: UUID = try row.decode("id")
        let expiresAt: Date = try row.decode("expires_at")
        try SecurityAudit.record(
            "DEPLOYMENT_OVERRIDE_ISSUED", severity: "MEDIUM", actor: caller, projectID: projectID.uuidString.lowercased(),
            details: JSONValue.object([
                "overrideId": .string(id.uuidString.lowercased()), "reason": .string(reason), "maxUses": .integer(maxUses),
                "expiresAt": .string(ISO8601.format(expiresAt)),
            ]).serializedText,
            correlationID: request.requestID, database: context.database)
        return .json(JSONValue.object([
            "overrideToken": .string(token), "overrideId": .string(id.uuidString.lowercased()),
            "expiresAt": .string(ISO8601.format(expiresAt)), "maxUses": .integer(maxUses),
        ]), status: 201)
    }

    /// One use of an override token, taken for `action` on a project the guardrails block.
    struct Use {
        let id: UUID
        let database: PostgresConnection

        /// Gives the use back when the action it was taken for did not happen.
        func refund() {
            _ = try? database.execute("UPDATE vercel_override_tokens SET uses = uses - 1 WHERE id = \(id) AND uses > 0")
        }
    }

    /// Lets a blocked action through with `token`, or throws 403 `DEPLOYMENT_BLOCKED`. Without a
    /// token, or with one that is unknown, of another project, expired or used up, the block stands.
    static func pass(
        _ guardrail: DeploymentGuardrail, token: String?, action: String, deploymentID: String? = nil, project: UUID,
        caller: PlatformCaller, context: RequestContext, correlationID: String
    ) throws -> Use? {
        guard guardrail.isBlocked else { return nil }
        var details: [String: JSONValue] = ["action": .string(action), "warnings": .array(guardrail.warnings.map { .string($0) })]
        if let deploymentID { details["deploymentId"] = .string(deploymentID) }
        let audit = { (event: String, severity: String, extra: [String: JSONValue]) in
            try SecurityAudit.record(
                event, severity: severity, actor: caller, projectID: project.uuidString.lowercased(),
                details: JSONValue.object(details.merging(extra) { $1 }).serializedText, correlationID: correlationID, database: context.database)
        }
        guard let token else {
            try audit("DEPLOYMENT_BLOCKED", "MEDIUM", [:])
            throw blocked(guardrail, message: "Production is guarded; an override token is needed")
        }
        let used = token.utf8.count <= 200
            ? try context.database.query(
                """
                UPDATE vercel_override_tokens SET uses = uses + 1
                WHERE token_hash = \(Digest.sha256Hex(token)) AND project_id = \(project) AND expires_at > now() AND uses < max_uses
                RETURNING id, uses, max_uses
                """).first
            : nil
        guard let used else {
            try audit("DEPLOYMENT_OVERRIDE_REJECTED", "HIGH", [:])
            throw blocked(
                guardrail, message: "The override token is unknown, expired or used up",
                extra: ["overrideRejected": true])
        }
        let id: UUID = try used.decode("id")
        try audit("DEPLOYMENT_OVERRIDE_USED", "HIGH", [
            "overrideId": .string(id.uuidString.lowercased()), "use": .integer(try used.decode("uses")),
            "maxUses": .integer(try used.decode("max_uses")),
        ])
        return Use(id: id, database: context.database)
    }

    static func blocked(_ guardrail: DeploymentGuardrail, message: String, extra: [String: JSONValue] = [:]) -> HTTPError {
        HTTPError(
            403, code: "DEPLOYMENT_BLOCKED", message: message,
            extraFields: ["warnings": .array(guardrail.warnings.map { .string($0) }), "canOverride": true].merging(extra) { $1 })
    }
}
