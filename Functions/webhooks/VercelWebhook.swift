#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import FastCGI
import Platform

/// `POST /v1/webhooks/vercel`: checks Vercel's signature over the exact bytes nginx passed, then
/// records and applies the event in one transaction. A 2xx means the event is stored: applied,
/// deduplicated, or queued for the retry job. A bad or missing signature stores nothing.
enum VercelWebhook {
    static let bodyLimit = 1 << 20

    @Sendable static func handle(_ request: Request, _ context: RequestContext) throws -> Response {
        let environment = ProcessInfo.processInfo.environment
        let secrets = WebhookSignature.secrets(from: environment["VERCEL_WEBHOOK_SECRETS"] ?? environment["VERCEL_OAUTH_CLIENT_SECRET"] ?? "")
        guard !secrets.isEmpty else {
            throw HTTPError(503, code: "WEBHOOKS_NOT_CONFIGURED", message: "No webhook secret is configured")
        }
        guard WebhookSignature.isValid(request.headers[WebhookSignature.header], body: request.body, secrets: secrets) else {
            throw HTTPError(401, code: "INVALID_WEBHOOK_SIGNATURE", message: "The webhook signature does not match its body")
        }
        guard let event = WebhookEvent.decode(request.body) else {
            throw HTTPError.badRequest("The webhook body is not a Vercel event", code: "INVALID_WEBHOOK")
        }
        let outcome = try WebhookProcessor(database: context.database, keyRing: context.configuration.keyRing, logger: context.logger)
            .receive(event, body: request.body, correlationID: request.requestID)
        context.logger.info("vercel webhook", metadata: [
            "webhook.type": "\(event.type)", "webhook.id": "\(event.id ?? "-")", "webhook.outcome": "\(outcome.rawValue)", "request.id": "\(request.requestID)",
        ])
        return .json(JSONValue.object(["received": true, "outcome": .string(outcome.rawValue)]))
    }
}
