import FastCGI
import Kernel
import Platform
import PlatformHost

/// Every refusal of the `deployments` group, mapped to its status and code in one place.
enum DeploymentsError: Error {
    case invalidSearch
    case invalidState
    case invalidTarget
    case invalidVercelProjectID
    case invalidLink
    case invalidProjectName
    case invalidFramework
    case invalidProductionBranch
    case invalidBuildSetting(String)
    case productionBranchIsVercels(current: String)
    case invalidBranchPatterns(String)
    case invalidEnvironmentTargets
    case projectAlreadyLinked
    case vercelProjectAlreadyLinked
    case invalidDeploymentType
    case invalidGitSource(String)
    case invalidIdempotencyKey
    case idempotencyKeyReused
    case deployInProgress
    case noGitRepository
    case projectFilesUnavailable
    case deploymentNotFound
    case invalidDeploymentID
    case invalidRollbackTarget
    case deploymentBlocked(warnings: [String], overrideRejected: Bool)
    case invalidReason
    case invalidExpiry
    case invalidMaxUses
    case promotionInProgress
    case deploymentNotReady(state: String)
    case notAProductionDeployment
    case noPreviousProduction
    case promotionFailed
    case promotionPending
    case deploymentNotCancelable(state: String)
    case tooManyLogStreams
    case invalidProvider
    case invalidRepository
    case invalidWebhookSecret
    case invalidGitToken
    case repositoryMismatch(provider: String, repository: String)
    case invalidTargetEnvironment
    case invalidRule(String)
    case ruleExists
    case tooManyRules
    case ruleNotFound
    case invalidBranch
    case invalidApprovalStatus
    case approvalNotFound
    case approvalNotPending(status: String)
    case invalidSmokeCheck(String)
    case invalidRuntimeLogFilter(String)
    case invalidSince
    case checkNotFound
    case checkNotConcluded(status: String)
    case checksNotPassed(status: String, conclusion: String?)
}

extension DeploymentsError: GroupRefusal {
    var parts: (status: Int, code: String, message: String) {
        switch self {
        case .invalidSearch: (400, "INVALID_SEARCH", "search is at most 100 characters")
        case .invalidState:
            (
                400, "INVALID_STATE",
                "state must be one or more of QUEUED, INITIALIZING, BUILDING, READY, ERROR, CANCELED, BLOCKED"
            )
        case .invalidTarget: (400, "INVALID_TARGET", "target must be production or preview")
        case .invalidVercelProjectID: (400, "INVALID_VERCEL_PROJECT_ID", "vercelProjectId is not a Vercel project id")
        case .invalidLink: (400, "INVALID_LINK", "Send either vercelProjectId or createProject")
        case .invalidProjectName:
            (
                400, "INVALID_PROJECT_NAME",
                "createProject.name must be 1 to 100 lowercase letters, digits, '.', '_' or '-'"
            )
        case .invalidFramework: (400, "INVALID_FRAMEWORK", "framework must be 1 to 64 letters, digits, '.', '_' or '-'")
        case .invalidProductionBranch: (400, "INVALID_PRODUCTION_BRANCH", "productionBranch is not a valid branch name")
        case .invalidBuildSetting(let name): (400, "INVALID_BUILD_SETTING", "\(name) is not a setting Vercel accepts")
        case .productionBranchIsVercels(let current):
            (
                409, "PRODUCTION_BRANCH_IS_VERCELS",
                "The production branch of a git-connected project is set in Vercel (it is '\(current)' there)"
            )
        case .invalidBranchPatterns(let reason):
            (400, "INVALID_BRANCH_PATTERNS", "deploymentBranchPatterns: \(reason)")
        case .invalidEnvironmentTargets:
            (400, "INVALID_ENVIRONMENT_TARGETS", "environmentTargets must be production, preview or development")
        case .projectAlreadyLinked:
            (409, "PROJECT_ALREADY_LINKED", "This project is already linked to a Vercel project; unlink it first")
        case .vercelProjectAlreadyLinked:
            (409, "VERCEL_PROJECT_ALREADY_LINKED", "That Vercel project is already linked to a project")
        case .invalidDeploymentType: (400, "INVALID_DEPLOYMENT_TYPE", "deploymentType must be production or preview")
        case .invalidGitSource(let reason): (400, "INVALID_GIT_SOURCE", reason)
        case .invalidIdempotencyKey:
            (400, "INVALID_IDEMPOTENCY_KEY", "idempotencyKey must be 1 to 255 printable ASCII characters")
        case .idempotencyKeyReused:
            (422, "IDEMPOTENCY_KEY_REUSED", "This idempotency key was used for a different deploy request")
        case .deployInProgress:
            (409, "DEPLOY_IN_PROGRESS", "A deploy with this idempotency key is still being created; try again")
        case .noGitRepository:
            (422, "NO_GIT_REPOSITORY", "The linked Vercel project is not connected to a git repository")
        case .projectFilesUnavailable:
            (503, "PROJECT_FILES_UNAVAILABLE", "Project files are not available to this service")
        case .deploymentNotFound, .invalidDeploymentID:
            (404, "DEPLOYMENT_NOT_FOUND", "This project has no such deployment")
        case .invalidRollbackTarget: (400, "INVALID_DEPLOYMENT_ID", "deploymentId is not a deployment id")
        case .deploymentBlocked(_, let rejected):
            (
                403, "DEPLOYMENT_BLOCKED",
                rejected
                    ? "The override token is unknown, expired or used up"
                    : "Production is guarded; an override token is needed"
            )
        case .invalidReason: (400, "INVALID_REASON", "reason must be 1 to 1000 characters")
        case .invalidExpiry: (400, "INVALID_EXPIRY", "expiresInMinutes must be 1 to 1440")
        case .invalidMaxUses: (400, "INVALID_MAX_USES", "maxUses must be 1 to 100")
        case .promotionInProgress:
            (409, "PROMOTION_IN_PROGRESS", "Another promotion or rollback of this project is in progress; try again")
        case .deploymentNotReady: (409, "DEPLOYMENT_NOT_READY", "Only a READY deployment can serve production")
        case .notAProductionDeployment:
            (409, "NOT_A_PRODUCTION_DEPLOYMENT", "Only a deployment that was in production can be rolled back to")
        case .noPreviousProduction:
            (409, "NO_PREVIOUS_PRODUCTION", "There is no earlier production deployment to roll back to")
        case .promotionFailed: (502, "PROMOTION_FAILED", "Vercel could not move production to this deployment")
        case .promotionPending:
            (504, "PROMOTION_PENDING", "Vercel has not finished moving production yet; check again shortly")
        case .deploymentNotCancelable(let state):
            (409, "DEPLOYMENT_NOT_CANCELABLE", "A deployment that is \(state) cannot be canceled")
        case .tooManyLogStreams: (503, "TOO_MANY_LOG_STREAMS", "Too many log streams are open; try again shortly")
        case .invalidProvider: (400, "INVALID_PROVIDER", "provider must be github, gitlab or bitbucket")
        case .invalidRepository:
            (400, "INVALID_REPOSITORY", "repository must be owner/name (GitLab: group/…/name), 3 to 255 characters")
        case .invalidWebhookSecret:
            (400, "INVALID_WEBHOOK_SECRET", "webhookSecret must be 16 to 256 printable ASCII characters without spaces")
        case .invalidGitToken: (400, "INVALID_GIT_TOKEN", "token must be 1 to 1024 printable ASCII characters")
        case .repositoryMismatch(let provider, let repository):
            (
                409, "REPOSITORY_MISMATCH",
                "The Vercel project builds from \(provider) repository '\(repository)'; connect that repository"
            )
        case .invalidTargetEnvironment:
            (400, "INVALID_TARGET_ENVIRONMENT", "targetEnvironment must be auto, production or preview")
        case .invalidRule(let detail): (400, "INVALID_RULE", detail)
        case .ruleExists: (409, "RULE_EXISTS", "A rule with this pattern exists; remove it first")
        case .tooManyRules: (409, "TOO_MANY_RULES", "A project has at most 50 rules")
        case .ruleNotFound: (404, "RULE_NOT_FOUND", "No rule has this pattern")
        case .invalidBranch: (400, "INVALID_BRANCH", "branch is not a valid git branch name")
        case .invalidApprovalStatus:
            (400, "INVALID_STATUS", "status must be pending, approved, denied, superseded or expired")
        case .approvalNotFound: (404, "APPROVAL_NOT_FOUND", "No approval of this project has this id")
        case .approvalNotPending(let status):
            (409, "APPROVAL_NOT_PENDING", "This approval is \(status); only a pending one can be decided")
        case .invalidSmokeCheck(let detail): (400, "INVALID_SMOKE_CHECK", detail)
        case .invalidRuntimeLogFilter(let detail): (400, "INVALID_RUNTIME_LOG_FILTER", detail)
        case .invalidSince:
            (400, "INVALID_SINCE", "since must be an RFC 3339 time or milliseconds since 1970, not in the future")
        case .checkNotFound: (404, "CHECK_NOT_FOUND", "This deployment has no smoke check")
        case .checkNotConcluded(let status):
            (409, "CHECK_NOT_CONCLUDED", "The smoke check is \(status); only a concluded one can be run again")
        case .checksNotPassed(let status, let conclusion):
            (
                409, "CHECKS_NOT_PASSED",
                conclusion == "failed"
                    ? "This deployment's smoke checks failed; fix it and rerun them (…/checks/rerun)"
                    : "This deployment's smoke checks are \(status); it can be promoted once they pass"
            )
        }
    }

    var extraFields: [String: JSONValue] {
        switch self {
        case .deployInProgress: ["retryAfter": 2]
        case .promotionInProgress: ["retryAfter": 1]
        case .tooManyLogStreams: ["retryAfter": 5]
        case .deploymentBlocked(let warnings, let rejected):
            ["warnings": .array(warnings.map { .string($0) }), "canOverride": true].merging(
                rejected ? ["overrideRejected": true] : [:]
            ) {
                $1
            }
        case .deploymentNotReady(let state), .deploymentNotCancelable(let state): ["state": .string(state)]
        case .productionBranchIsVercels(let current): ["productionBranch": .string(current)]
        case .approvalNotPending(let status), .checkNotConcluded(let status): ["status": .string(status)]
        case .checksNotPassed(let status, let conclusion):
            ["checks": .object(["status": .string(status), "conclusion": conclusion.map { .string($0) } ?? .null])]
        case .repositoryMismatch(let provider, let repository):
            ["provider": .string(provider), "repository": .string(repository)]
        default: [:]
        }
    }

    var headers: [(String, String)] {
        switch self {
        case .deployInProgress: [("Retry-After", "2")]
        case .promotionInProgress: [("Retry-After", "1")]
        case .tooManyLogStreams: [("Retry-After", "5")]
        default: []
        }
    }
}
