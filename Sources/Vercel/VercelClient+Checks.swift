import Kernel

/// Deployment checks: register `POST /v1/deployments/{id}/checks`, list `GET …/checks`, conclude
/// `PATCH …/checks/{checkId}`, rerun `POST …/checks/{checkId}/rerequest`. A check can only be
/// registered while its deployment builds; a blocking one holds the production alias until it
/// concludes `succeeded`.
extension VercelClient {
    /// Registers a check. Not retried on 5xx: a repeated create registers two checks.
    public func createCheck(
        _ check: VercelCheckRequest, deploymentID: String, _ credentials: Credentials
    ) throws(VercelError) -> VercelCheck {
        try call(
            try endpoint("POST", "/v1/deployments/\(deploymentID)/checks", check, idempotent: false),
            credentials: credentials)
    }

    public func checks(
        deploymentID: String, _ credentials: Credentials
    ) throws(VercelError) -> [VercelCheck] {
        struct Page: Decodable { let checks: [VercelCheck] }
        let page: Page = try call(
            Endpoint("GET", "/v1/deployments/\(deploymentID)/checks"), credentials: credentials)
        return page.checks
    }

    /// Moves a check on (`running`) or concludes it. Idempotent: the same update, the same check.
    public func updateCheck(
        _ update: VercelCheckUpdate, checkID: String, deploymentID: String, _ credentials: Credentials
    ) throws(VercelError) -> VercelCheck {
        try call(
            try endpoint(
                "PATCH", "/v1/deployments/\(deploymentID)/checks/\(checkID)", update, idempotent: true),
            credentials: credentials)
    }

    /// Asks Vercel to run a check again: it becomes `registered`, and Vercel sends
    /// `deployment.check-rerequested`.
    public func rerequestCheck(
        checkID: String, deploymentID: String, _ credentials: Credentials
    ) throws(VercelError) {
        _ = try send(
            Endpoint("POST", "/v1/deployments/\(deploymentID)/checks/\(checkID)/rerequest", idempotent: true),
            credentials: credentials)
    }
}

/// The body of `createCheck`: `name` (at most 100) and `blocking` are required.
public struct VercelCheckRequest: Encodable, Sendable, Equatable {
    public var name: String
    public var blocking: Bool
    public var path: String?
    public var detailsUrl: String?
    public var externalId: String?
    public var rerequestable: Bool?

    public init(
        name: String, blocking: Bool, path: String? = nil, detailsUrl: String? = nil, externalId: String? = nil,
        rerequestable: Bool? = nil
    ) {
        self.name = name
        self.blocking = blocking
        self.path = path
        self.detailsUrl = detailsUrl
        self.externalId = externalId
        self.rerequestable = rerequestable
    }
}

/// The body of `updateCheck`: what changes. Vercel's `output` holds web-vitals metrics only, so a
/// check's own findings go in `detailsUrl` and in the service's records, not there.
public struct VercelCheckUpdate: Encodable, Sendable, Equatable {
    public var status: String?
    public var conclusion: String?
    public var detailsUrl: String?
    public var externalId: String?

    public init(status: String? = nil, conclusion: String? = nil, detailsUrl: String? = nil, externalId: String? = nil)
    {
        self.status = status
        self.conclusion = conclusion
        self.detailsUrl = detailsUrl
        self.externalId = externalId
    }

    public static let running = VercelCheckUpdate(status: "running")

    public static func completed(_ conclusion: String, detailsUrl: String? = nil) -> VercelCheckUpdate {
        VercelCheckUpdate(status: "completed", conclusion: conclusion, detailsUrl: detailsUrl)
    }
}

/// A check as Vercel answers it. Statuses and conclusions Vercel adds later are kept as sent.
public struct VercelCheck: Decodable, Sendable, Equatable {
    public let id: String
    public let name: String
    /// `registered`, `running` or `completed`.
    public let status: String
    /// `canceled`, `failed`, `neutral`, `succeeded`, `skipped` or `stale`.
    public let conclusion: String?
    /// The list answer leaves it out.
    public let blocking: Bool?
    public let path: String?
    public let rerequestable: Bool?
    public let detailsUrl: String?
    public let externalId: String?
    public let integrationId: String?
    public let deploymentId: String?
}
