#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import FastCGI
import Platform
import Postgres
import Vercel

/// `POST .../deployments/:deploymentId/promote` and `POST .../rollback`: production pointed at a
/// READY deployment of this project. One move per project at a time, on every host: the move holds
/// the project's advisory lock from the READY check until Vercel reports the alias moved and the
/// move is recorded, and a move that finds the lock taken is 409 `PROMOTION_IN_PROGRESS`. So the
/// moves recorded are in the order Vercel made them, and the last one is what production serves.
enum Promotion {
    struct PromoteBody: Decodable {
        let userId: String
        let overrideToken: String?
    }

    struct RollbackBody: Decodable {
        let userId: String
        let deploymentId: String?
    }

    /// How long a move waits for Vercel to report its alias job done.
    static let aliasWait: Duration = .seconds(25)

    @Sendable static func promote(_ request: Request, _ context: RequestContext, _ caller: PlatformCaller) throws -> Response {
        let body = try request.decodeJSON(PromoteBody.self)
        let move = try Move(request, context, caller)
        let deploymentID = try request.deploymentID()
        _ = try move.store.require(deploymentID, projectID: move.project.projectID)
        return try move.locked {
            let deployment = try move.requireReady(deploymentID)
            let guardrail = DeploymentGuardrail.evaluate(
                production: true, branch: deployment.branch, productionBranch: move.project.productionBranch)
            let use = try DeploymentOverrides.pass(
                guardrail, token: body.overrideToken, action: "promote", deploymentID: deploymentID, project: move.project.projectID,
                caller: caller, context: context, correlationID: request.requestID)
            let production: Production
            do {
                production = try move.perform("promote", deploymentID)
            } catch {
                use?.refund()
                throw error
            }
            return .json(JSONValue.object([
                "promoted": true, "deploymentId": .string(deploymentID), "productionUrl": production.url.map { .string($0) } ?? .null,
                "aliasUrls": .array(production.aliases.map { .string($0) }),
            ]))
        }
    }

    @Sendable static func rollback(_ request: Request, _ context: RequestContext, _ caller: PlatformCaller) throws -> Response {
        let body = try request.decodeJSON(RollbackBody.self)
        if let named = body.deploymentId, !(1...255).contains(named.utf8.count) {
            throw HTTPError.badRequest("deploymentId is not a deployment id", code: "INVALID_DEPLOYMENT_ID")
        }
        let move = try Move(request, context, caller)
        return try move.locked {
            let targetID = try body.deploymentId ?? move.previousProduction()
            let target = try move.store.require(targetID, projectID: move.project.projectID)
            guard target.type == "production" else {
                throw HTTPError(
                    409, code: "NOT_A_PRODUCTION_DEPLOYMENT", message: "Only a deployment that was in production can be rolled back to")
            }
            _ = try move.requireReady(targetID)
            let production = try move.perform("rollback", targetID)
            return .json(JSONValue.object([
                "rolledBack": true, "deploymentId": .string(targetID), "productionUrl": production.url.map { .string($0) } ?? .null,
                "aliasUrls": .array(production.aliases.map { .string($0) }),
            ]))
        }
    }

    /// Where production points after a move: the deployment's URL and the production aliases.
    struct Production {
        let url: String?
        let aliases: [String]
    }

    /// One move of a project's production, with what it needs.
    struct Move {
        let request: Request
        let context: RequestContext
        let caller: PlatformCaller
        let project: LinkedProject
        let store: DeploymentStore
        let client: VercelClient
        let credentials: VercelClient.Credentials

        init(_ request: Request, _ context: RequestContext, _ caller: PlatformCaller) throws {
            self.request = request
            self.context = context
            self.caller = caller
            project = try LinkedProject.load(try request.projectID(), database: context.database)
            store = DeploymentStore(database: context.database, logger: request.logger)
            credentials = try context.vercelCredentials(
                for: caller, connection: project.connectionID, requiring: "deployment:write", correlationID: request.requestID)
            client = try context.vercel().client
        }

        /// Runs `body` holding the project's promotion lock, or throws 409 `PROMOTION_IN_PROGRESS`.
        func locked(_ body: () throws -> Response) throws -> Response {
            guard let response = try context.database.withAdvisoryLockIfFree("vercel.promotion:\(project.projectID)", body) else {
                throw HTTPError(
                    409, code: "PROMOTION_IN_PROGRESS", message: "Another promotion or rollback of this project is in progress; try again",
                    extraFields: ["retryAfter": 1], headers: [("Retry-After", "1")])
            }
            return response
        }

        /// The deployment as Vercel has it now, which must be READY.
        func requireReady(_ deploymentID: String) throws -> DeploymentStore.Record {
            let reported = try client.deployment(deploymentID, credentials, correlationID: request.requestID)
            guard reported.projectId == nil || reported.projectId == project.vercelProjectID else {
                throw HTTPError.notFound("This project has no such deployment", code: "DEPLOYMENT_NOT_FOUND")
            }
            let deployment = try store.applyReported(reported, projectID: project.projectID) ?? store.require(deploymentID, projectID: project.projectID)
            guard reported.readyState == "READY" else {
                throw HTTPError(
                    409, code: "DEPLOYMENT_NOT_READY", message: "Only a READY deployment can serve production",
                    extraFields: ["state": .string(reported.readyState)])
            }
            return deployment
        }

        /// The deployment production served before the current one: as this service last moved it,
        /// else the newest READY production deployment that is not serving now.
        func previousProduction() throws -> String {
            if let recorded = try context.database.query(
                "SELECT previous_deployment_id FROM vercel_production_history WHERE project_id = \(project.projectID) ORDER BY id DESC LIMIT 1"
            ).first?["previous_deployment_id"] {
                return recorded
            }
            let current = try client.productionState(projectID: project.vercelProjectID, credentials, correlationID: request.requestID)
                .targets?.production?.id
            guard let row = try context.database.query(
                """
                SELECT deployment_id FROM vercel_deployments
                WHERE project_id = \(project.projectID) AND deployment_type = 'PRODUCTION' AND deployment_state = 'READY'
                  AND deployment_id IS DISTINCT FROM \(current)
                ORDER BY coalesce(ready_at, created_at) DESC LIMIT 1
                """).first
            else {
                throw HTTPError(409, code: "NO_PREVIOUS_PRODUCTION", message: "There is no earlier production deployment to roll back to")
            }
            return try row.decode("deployment_id")
        }

        /// Asks Vercel to move production to `deploymentID`, waits until its alias job is done, and
        /// records the move: the history row, the aliases on the deployments, the audit log.
        func perform(_ action: String, _ deploymentID: String) throws -> Production {
            if action == "promote" {
                try client.promote(deploymentID: deploymentID, projectID: project.vercelProjectID, credentials, correlationID: request.requestID)
            } else {
                try client.rollback(deploymentID: deploymentID, projectID: project.vercelProjectID, credentials, correlationID: request.requestID)
            }
            let state = try awaitAlias(deploymentID)
            let url = state.targets?.production?.url.map(DeploymentStore.https)
            let aliases = state.targets?.production?.alias ?? []
            let previous = state.lastAliasRequest?.fromDeploymentId
            try context.database.transaction {
                try context.database.execute(
                    """
                    INSERT INTO vercel_production_history (project_id, vercel_project_id, deployment_id, deployment_url, alias_urls, action,
                      previous_deployment_id, actor_user_id, correlation_id)
                    VALUES (\(project.projectID), \(project.vercelProjectID), \(deploymentID), \(url),
                      \(aliases), \(action), \(previous), \(caller.userID), \(request.requestID))
                    """)
                try context.database.execute(
                    """
                    UPDATE vercel_deployments SET
                      alias_urls = CASE WHEN deployment_id = \(deploymentID)
                                        THEN ARRAY(SELECT DISTINCT unnest(alias_urls || \(aliases)::text[]))
                                        ELSE ARRAY(SELECT unnest(alias_urls) EXCEPT SELECT unnest(\(aliases)::text[])) END,
                      deployment_type = CASE WHEN deployment_id = \(deploymentID) THEN 'PRODUCTION' ELSE deployment_type END,
                      metadata = CASE WHEN deployment_id = \(deploymentID) THEN metadata || jsonb_build_object('promotedAt', now()) ELSE metadata END,
                      updated_at = now()
                    WHERE project_id = \(project.projectID) AND (deployment_id = \(deploymentID) OR alias_urls && \(aliases)::text[])
                    """)
                try SecurityAudit.record(
                    action == "promote" ? "DEPLOYMENT_PROMOTED" : "DEPLOYMENT_ROLLED_BACK", severity: "MEDIUM", actor: caller,
                    projectID: project.projectID.uuidString.lowercased(),
                    details: JSONValue.object([
                        "deploymentId": .string(deploymentID), "previousDeploymentId": previous.map { .string($0) } ?? .null,
                    ]).serializedText,
                    correlationID: request.requestID, database: context.database)
            }
            return Production(url: url, aliases: aliases)
        }

        /// Vercel's project once its last alias job is the one for `deploymentID` and has finished.
        private func awaitAlias(_ deploymentID: String) throws -> VercelProductionState {
            let deadline = ContinuousClock.now + aliasWait
            var pause: Duration = .milliseconds(50)
            while true {
                let state = try client.productionState(projectID: project.vercelProjectID, credentials, correlationID: request.requestID)
                if let job = state.lastAliasRequest, job.toDeploymentId == deploymentID {
                    switch job.jobStatus {
                    case "succeeded", "skipped": return state
                    case "failed":
                        throw HTTPError(502, code: "PROMOTION_FAILED", message: "Vercel could not move production to this deployment")
                    default: break
                    }
                }
                guard ContinuousClock.now < deadline else {
                    throw HTTPError(
                        504, code: "PROMOTION_PENDING", message: "Vercel has not finished moving production yet; check again shortly")
                }
                usleep(useconds_t(pause.milliseconds * 1000))
                pause = min(pause * 2, .seconds(1))
            }
        }
    }
}
