import FastCGI
import Kernel
import Platform
import PlatformHost

/// `POST /v1/webhooks/vercel`: checks Vercel's signature over the exact bytes nginx passed, then
/// records and applies the event in one transaction. A 2xx means the event is stored: applied,
/// deduplicated, or queued for the retry job. A bad or missing signature stores nothing.
enum VercelWebhook {
    static let bodyLimit = 1 << 20

    struct Received: Encodable {
        let received = true
        let outcome: String

        func encode(to encoder: any Encoder) throws {
            enum Keys: String, CodingKey { case received, outcome }
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(received, forKey: .received)
            try container.encode(outcome, forKey: .outcome)
        }
    }

    @Sendable static func handle(_ request: Request, _ context: WorkerServices) throws -> Response {
        let secrets = context.configuration.webhooks.vercelSecrets.map { Array($0.utf8) }
        guard !secrets.isEmpty else { throw WebhookError.notConfigured }
        guard WebhookSignature.isValid(request.headers[WebhookSignature.header], body: request.body, secrets: secrets)
        else {
            Metrics.shared.increment(.webhookEvents, ["vercel", "refused"])
            throw WebhookError.invalidSignature
        }
        guard let event = WebhookEvent.decode(request.body) else {
            Metrics.shared.increment(.webhookEvents, ["vercel", "invalid"])
            throw WebhookError.invalidEvent
        }
        let outcome = try context.webhookProcessor(logger: request.logger).receive(event, body: request.body)
        Metrics.shared.increment(.webhookEvents, ["vercel", outcome.rawValue])
        request.logger.info(
            "vercel webhook",
            metadata: [
                "webhook.type": "\(event.type)", "webhook.id": "\(event.id ?? "-")",
                "webhook.outcome": "\(outcome.rawValue)",
            ])
        return .json(Received(outcome: outcome.rawValue))
    }
}
