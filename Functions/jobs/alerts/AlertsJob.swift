import Foundation
import Kernel
import Logging
import Platform
import PlatformHost
import Postgres
import Vercel

// vercel-job-alerts (every minute): delivers the queued alerts to SHEEN_ALERT_WEBHOOK_URL, signed
// the Standard Webhooks way (webhook-id, webhook-timestamp, webhook-signature). A failure backs off
// and is tried again; after its attempts an alert is dead, listed for operators, never dropped.
// Without an endpoint configured, alerts wait.
enum AlertsJob {
    static func main() -> Never {
        OneShotJob.run(
            name: "vercel-job-alerts", settings: { try AlertSettings.fromEnvironment() },
            work: {
                database, logger, settings in
                guard let settings else {
                    logger.info("no alert endpoint configured; alerts wait in the outbox")
                    return ["alerts.delivered": "0"]
                }
                let outbox = AlertOutbox(database: database)
                let transport = CurlTransport()
                var delivered = 0
                var failed = 0
                for delivery in try outbox.claim(limit: 200) {
                    let timestamp = Int64(Date().timeIntervalSince1970)
                    let signature = try StandardWebhookSignature.sign(
                        secret: settings.secret, id: delivery.messageID, timestamp: timestamp, body: delivery.body)
                    let request = HTTPRequest(
                        method: "POST", url: settings.url,
                        headers: [
                            ("Content-Type", "application/json"), ("webhook-id", delivery.messageID),
                            ("webhook-timestamp", "\(timestamp)"),
                            ("webhook-signature", signature),
                        ],
                        body: delivery.body, connectTimeout: .seconds(5), totalTimeout: .seconds(15))
                    let reason: String?
                    let started = ContinuousClock.now
                    var status: Int?
                    do {
                        let response = try transport.send(request)
                        status = response.status
                        reason =
                            (200..<300).contains(response.status) ? nil : "the endpoint answered \(response.status)"
                    } catch {
                        reason = "the endpoint could not be reached: \(error)"
                    }
                    Outbound.record(
                        remote: "alerts", endpoint: "/", method: "POST", status: status,
                        seconds: (ContinuousClock.now - started).seconds)
                    if let reason {
                        try outbox.failed(delivery, reason: reason)
                        failed += 1
                        logger.warning(
                            "alert not delivered",
                            metadata: [
                                "alert.id": "\(delivery.messageID)",
                                "alert.attempt": .stringConvertible(delivery.attempt),
                                "error.detail": "\(reason)",
                            ])
                    } else {
                        try outbox.delivered(delivery)
                        delivered += 1
                    }
                }
                return ["alerts.delivered": "\(delivered)", "alerts.failed": "\(failed)"]
            })
    }
}
