import FastCGI
import Kernel
import Platform
import PlatformHost

/// `GET /v1/admin/vercel/jobs?status=dead` (the work queue's jobs in a status, newest first),
/// `POST /v1/admin/vercel/jobs/:id/retry` (a dead job back in the queue) and
/// `POST /v1/admin/vercel/jobs/:id/replay` (a stored webhook event, done or dead, applied again now
/// through the same processing: deduplicated state moves are refused again as they were, so a replay
/// changes only what its event still changes). Administrators only; retries and replays are audited.
enum OperatorJobs {
    struct Listed: Encodable {
        let jobs: [JobStore.Summary]
    }

    @Sendable static func list(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        let status =
            try call.query("status").map { text in
                guard let status = JobStore.Status(rawValue: text) else { throw OperatorError.invalidStatus }
                return status
            } ?? .dead
        let limit = try call.limit(in: 1...500, otherwise: 100)
        return .json(Listed(jobs: try context.jobs.list(status, limit: limit)))
    }

    struct Retried: Encodable {
        let retried: Bool
        let id: String
    }

    private struct AuditDetails: Encodable {
        let jobId: String
    }

    @Sendable static func retry(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        guard let text = call.parameter("id"), text.utf8.count <= 19, let id = Int64(text), id > 0 else {
            throw OperatorError.jobNotFound
        }
        switch try context.jobs.retry(id) {
        case .notFound: throw OperatorError.jobNotFound
        case .notDead(let status): throw OperatorError.jobNotDead(status: status)
        case .queued:
            try context.audit.record(
                .jobRetried, severity: .medium, actor: call.caller.userID, details: AuditDetails(jobId: text))
            return .json(Retried(retried: true, id: text))
        }
    }
}

extension OperatorJobs {
    struct Replayed: Encodable {
        let replayed: Bool
        let id: String
        let outcome: String
    }

    private struct ReplayDetails: Encodable {
        let jobId: String
        let outcome: String
    }

    @Sendable static func replay(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        guard let text = call.parameter("id"), text.utf8.count <= 19, let id = Int64(text), id > 0 else {
            throw OperatorError.jobNotFound
        }
        switch try context.jobs.storedWebhook(id) {
        case .notFound: throw OperatorError.jobNotFound
        case .notWebhook: throw OperatorError.notAWebhook
        case .unfinished(let status): throw OperatorError.jobUnfinished(status: status)
        case .found(let body):
            let outcome = try context.webhookProcessor(logger: call.logger).applyQueued(body)
            try context.audit.record(
                .webhookReplayed, severity: .medium, actor: call.caller.userID,
                details: ReplayDetails(jobId: text, outcome: outcome.rawValue))
            return .json(Replayed(replayed: true, id: text, outcome: outcome.rawValue))
        }
    }
}

/// Every refusal of the operators' routes, mapped to its status and code in one place.
enum OperatorError: Error {
    case invalidStatus
    case jobNotFound
    case jobNotDead(status: String)
    case notAWebhook
    case jobUnfinished(status: String)
}

extension OperatorError: GroupRefusal {
    var parts: (status: Int, code: String, message: String) {
        switch self {
        case .invalidStatus: (400, "INVALID_STATUS", "status must be pending, running, done or dead")
        case .jobNotFound: (404, "JOB_NOT_FOUND", "No such job")
        case .jobNotDead(let status): (409, "JOB_NOT_DEAD", "Only a dead job is retried; this one is \(status)")
        case .notAWebhook: (409, "NOT_A_WEBHOOK", "Only a stored webhook event (a webhook.apply job) is replayed")
        case .jobUnfinished(let status):
            (409, "JOB_NOT_FINISHED", "Only a done or dead webhook job is replayed; this one is \(status)")
        }
    }

    var extraFields: [String: JSONValue] {
        if case .jobNotDead(let status) = self { return ["status": .string(status)] }
        if case .jobUnfinished(let status) = self { return ["status": .string(status)] }
        return [:]
    }
}
