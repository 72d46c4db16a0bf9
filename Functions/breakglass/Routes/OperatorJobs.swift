import FastCGI
import Kernel
import Platform
import PlatformHost

/// `GET /v1/admin/vercel/jobs?status=dead` (the work queue's jobs in a status, newest first) and
/// `POST /v1/admin/vercel/jobs/:id/retry` (a dead job back in the queue). Administrators only.
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

/// Every refusal of the operators' routes, mapped to its status and code in one place.
enum OperatorError: Error {
    case invalidStatus
    case jobNotFound
    case jobNotDead(status: String)
}

extension OperatorError: GroupRefusal {
    var parts: (status: Int, code: String, message: String) {
        switch self {
        case .invalidStatus: (400, "INVALID_STATUS", "status must be pending, running, done or dead")
        case .jobNotFound: (404, "JOB_NOT_FOUND", "No such job")
        case .jobNotDead(let status): (409, "JOB_NOT_DEAD", "Only a dead job is retried; this one is \(status)")
        }
    }

    var extraFields: [String: JSONValue] {
        if case .jobNotDead(let status) = self { return ["status": .string(status)] }
        return [:]
    }
}
