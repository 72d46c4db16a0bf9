import FastCGI
import Platform
import PlatformHost
import Vercel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// `POST .../deployments/:deploymentId/promote` and `POST .../rollback`: production pointed at a
/// READY deployment of this project. One move per project at a time, on every host: the move holds
/// the project's advisory lock from the READY check until Vercel reports the alias moved and the
/// move is recorded, and a move that finds the lock taken is 409 `PROMOTION_IN_PROGRESS`. So the
/// moves recorded are in the order Vercel made them, and the last one is what production serves.
enum Promotion {
    struct PromoteInput: Decodable {
        let overrideToken: String?
    }

    struct RollbackInput: Decodable {
        let deploymentId: String?
    }

    struct Promoted: Encodable {
        let promoted = true
        let deploymentId: String
        let productionUrl: String?
        let aliasUrls: [String]

        func encode(to encoder: any Encoder) throws {
            enum Keys: String, CodingKey { case promoted, deploymentId, productionUrl, aliasUrls }
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(promoted, forKey: .promoted)
            try container.encode(deploymentId, forKey: .deploymentId)
            try container.encode(productionUrl, forKey: .productionUrl)
            try container.encode(aliasUrls, forKey: .aliasUrls)
        }
    }

    struct RolledBack: Encodable {
        let rolledBack = true
        let deploymentId: String
        let productionUrl: String?
        let aliasUrls: [String]

        func encode(to encoder: any Encoder) throws {
            enum Keys: String, CodingKey { case rolledBack, deploymentId, productionUrl, aliasUrls }
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(rolledBack, forKey: .rolledBack)
            try container.encode(deploymentId, forKey: .deploymentId)
            try container.encode(productionUrl, forKey: .productionUrl)
            try container.encode(aliasUrls, forKey: .aliasUrls)
        }
    }

    /// How long a move waits for Vercel to report its alias job done.
    static let aliasWait: Duration = .seconds(25)

    @Sendable static func promote(_ call: PlatformCall<PromoteInput>, _ context: WorkerServices) throws -> Response {
        let move = try Move(call, context)
        let deploymentID = try call.deploymentID()
        guard try move.store.find(deploymentID, projectID: move.project.projectID) != nil else {
            throw DeploymentsError.deploymentNotFound
        }
        return try move.locked {
            let deployment = try move.requireReady(deploymentID)
            // A deployment whose smoke checks failed, or have not concluded, does not serve
            // production, whether Vercel holds it for them or not.
            if let checks = try context.deploymentCheckStore.record(deploymentID, projectID: move.project.projectID),
                checks.conclusion != "succeeded"
            {
                throw DeploymentsError.checksNotPassed(status: checks.status, conclusion: checks.conclusion)
            }
            let guardrail = DeploymentGuardrail.evaluate(
                production: true, branch: deployment.branch,
                productionBranch: context.deploys.productionBranch(
                    of: move.project, move.credentials, logger: call.logger))
            let use = try DeploymentOverrides.pass(
                guardrail, token: call.input.overrideToken, action: "promote", deploymentID: deploymentID,
                project: move.project.projectID, call: call, context: context)
            let production: Production
            do {
                production = try move.perform("promote", deploymentID)
            } catch {
                use.map(context.overrides.refund)
                throw error
            }
            move.watch {
                try context.productionWatch.promoted(deploymentID, of: move.project, previous: production.previous)
            }
            return .json(
                Promoted(deploymentId: deploymentID, productionUrl: production.url, aliasUrls: production.aliases))
        }
    }

    @Sendable static func rollback(_ call: PlatformCall<RollbackInput>, _ context: WorkerServices) throws -> Response {
        if let named = call.input.deploymentId, !(1...255).contains(named.utf8.count) {
            throw DeploymentsError.invalidRollbackTarget
        }
        let move = try Move(call, context)
        return try move.locked {
            let targetID = try call.input.deploymentId ?? move.previousProduction()
            guard let target = try move.store.find(targetID, projectID: move.project.projectID) else {
                throw DeploymentsError.deploymentNotFound
            }
            guard target.type == "production" else { throw DeploymentsError.notAProductionDeployment }
            // A deployment Vercel only staged never served production: there is nothing to go back to.
            guard try move.requireReady(targetID).promoted else { throw DeploymentsError.notAProductionDeployment }
            let production = try move.perform("rollback", targetID)
            // The user's own move wins over a watch of the deployment production left.
            move.watch {
                try context.productionWatchStore.supersede(
                    projectID: move.project.projectID, reason: "rolled back to \(targetID) by its user")
            }
            return .json(
                RolledBack(deploymentId: targetID, productionUrl: production.url, aliasUrls: production.aliases))
        }
    }

    /// Where production points after a move: the deployment's URL and the production aliases.
    struct Production {
        let url: String?
        let aliases: [String]
        /// The deployment production served before, as Vercel reported the move.
        let previous: String?
    }

    /// One move of a project's production, with what it needs.
    struct Move<Input: Decodable> {
        let call: PlatformCall<Input>
        let context: WorkerServices
        let project: LinkedProject
        let store: DeploymentStore
        let credentials: VercelClient.Credentials

        init(_ call: PlatformCall<Input>, _ context: WorkerServices) throws {
            self.call = call
            self.context = context
            project = try call.linkedProject()
            store = context.deployments(logger: call.logger)
            credentials = try context.vercelCredentials(
                for: call, connection: project.connectionID, requiring: .writeDeployment)
        }

        /// Updates the project's production watch after a move Vercel made: a failure is logged, not
        /// answered, since production has moved already.
        func watch(_ body: () throws -> Void) {
            do {
                try body()
            } catch {
                call.logger.error("production watch not updated", metadata: ["error.detail": "\(error)"])
            }
        }

        /// Runs `body` holding the project's promotion lock, or throws 409 `PROMOTION_IN_PROGRESS`.
        func locked(_ body: () throws -> Response) throws -> Response {
            guard
                let response = try context.productionHistory.moving(project.projectID, body)
            else {
                throw DeploymentsError.promotionInProgress
            }
            return response
        }

        /// The deployment as Vercel has it now, which must be READY.
        func requireReady(_ deploymentID: String) throws -> DeploymentRecord {
            let reported = try context.vercel.deployment(deploymentID, credentials)
            guard reported.projectId == nil || reported.projectId == project.vercelProjectID else {
                throw DeploymentsError.deploymentNotFound
            }
            guard let deployment = try store.applyReported(reported, projectID: project.projectID) else {
                throw DeploymentsError.deploymentNotFound
            }
            guard reported.readyState == "READY" else {
                throw DeploymentsError.deploymentNotReady(state: reported.readyState)
            }
            return deployment
        }

        /// The deployment production served before the current one: as this service last moved it,
        /// else the newest READY production deployment that is not serving now.
        func previousProduction() throws -> String {
            let history = context.productionHistory
            if let recorded = try history.previousOfLastMove(project.projectID) { return recorded }
            let current = try context.vercel.productionState(
                projectID: project.vercelProjectID, credentials
            )
            .targets?.production?.id
            guard let previous = try history.newestReadyProduction(project.projectID, except: current) else {
                throw DeploymentsError.noPreviousProduction
            }
            return previous
        }

        /// Asks Vercel to move production to `deploymentID`, waits until its alias job is done, and
        /// records the move.
        func perform(_ action: String, _ deploymentID: String) throws -> Production {
            if action == "promote" {
                try context.vercel.promote(
                    deploymentID: deploymentID, projectID: project.vercelProjectID, credentials)
            } else {
                try context.vercel.rollback(
                    deploymentID: deploymentID, projectID: project.vercelProjectID, credentials)
            }
            let state = try awaitAlias(deploymentID)
            // Vercel's substate moves with production (a STAGED deployment becomes PROMOTED).
            if let moved = try? context.vercel.deployment(deploymentID, credentials) {
                try store.applyReported(moved, projectID: project.projectID)
            }
            let production = Production(
                url: state.targets?.production?.url.map(DeploymentStore.https),
                aliases: state.targets?.production?.alias ?? [], previous: state.lastAliasRequest?.fromDeploymentId)
            try context.productionHistory.record(
                .init(
                    projectID: project.projectID, vercelProjectID: project.vercelProjectID, deploymentID: deploymentID,
                    url: production.url, aliases: production.aliases, action: action,
                    previousDeploymentID: state.lastAliasRequest?.fromDeploymentId, actor: call.caller.userID))
            return production
        }

        /// Vercel's project once its last alias job is the one for `deploymentID` and has finished.
        private func awaitAlias(_ deploymentID: String) throws -> VercelProductionState {
            switch try context.vercel.awaitAlias(
                deploymentID, projectID: project.vercelProjectID, credentials, wait: aliasWait)
            {
            case .done(let state): return state
            case .failed: throw DeploymentsError.promotionFailed
            case .pending: throw DeploymentsError.promotionPending
            }
        }
    }
}
