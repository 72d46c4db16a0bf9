import Crypto
import FastCGI
import Foundation
import Kernel
import Synchronization
import Vercel

/// Sends Vercel's webhooks for the simulator's deployments: each event is scheduled when it
/// becomes true (a deployment is created, finishes, is canceled or promoted), signed as Vercel
/// signs it (`x-vercel-signature`: hex HMAC-SHA1 of the raw body), and retried with backoff until
/// a 2xx. An account's knobs (`/_sim/webhooks`) set the URL and secret and can drop, duplicate or
/// reorder its deliveries.
final class WebhookSender: Sendable {
    struct Settings: Codable, Sendable, Equatable {
        var url: String?
        var secret: String?
        /// Drop this many of the next events.
        var drop = 0
        /// Send each of the next this many events twice.
        var duplicate = 0
        /// Hold events for `reorderWindowMs` and send each batch newest first.
        var reorder = false
        var reorderWindowMs = 400

        init() {}

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            url = try container.decodeIfPresent(String.self, forKey: .url)
            secret = try container.decodeIfPresent(String.self, forKey: .secret)
            drop = try container.decodeIfPresent(Int.self, forKey: .drop) ?? 0
            duplicate = try container.decodeIfPresent(Int.self, forKey: .duplicate) ?? 0
            reorder = try container.decodeIfPresent(Bool.self, forKey: .reorder) ?? false
            reorderWindowMs = try container.decodeIfPresent(Int.self, forKey: .reorderWindowMs) ?? 400
        }
    }

    struct Delivery: Sendable {
        /// Withdrawn together by `withdraw(tag:)`: a finished build's event when it is canceled first.
        var tag: String?
        var due: Int64
        var url: String
        var secret: String
        var body: [UInt8]
        var attempt = 1
    }

    private struct Queue {
        var pending: [Delivery] = []
        var delivered = 0
    }

    private let defaultURL: String?
    private let defaultSecret: String
    private let queue = Mutex(Queue())

    init(defaultURL: String?, defaultSecret: String) {
        self.defaultURL = defaultURL
        self.defaultSecret = defaultSecret
    }

    /// Starts the thread that delivers what is due.
    func start() {
        let thread = Thread { [self] in
            let transport = CurlTransport(responseLimit: 1 << 20)
            while true {
                let now = Int64(Date().timeIntervalSince1970 * 1000)
                let due = queue.withLock { queue -> [Delivery] in
                    let ready = queue.pending.filter { $0.due <= now }.sorted { $0.due < $1.due }
                    queue.pending.removeAll { $0.due <= now }
                    return ready
                }
                for delivery in due { send(delivery, transport) }
                usleep(20_000)
            }
        }
        thread.start()
    }

    private func send(_ delivery: Delivery, _ transport: CurlTransport) {
        let signature = Hex.encode(HMAC.sha1(key: Array(delivery.secret.utf8), message: delivery.body))
        let request = HTTPRequest(
            method: "POST", url: delivery.url,
            headers: [("Content-Type", "application/json"), ("x-vercel-signature", signature)],
            body: delivery.body, connectTimeout: .seconds(2), totalTimeout: .seconds(30))
        let status = (try? transport.send(request).status) ?? 0
        guard !(200..<300).contains(status), delivery.attempt < 6 else { return }
        var retry = delivery
        retry.attempt += 1
        retry.due = Int64(Date().timeIntervalSince1970 * 1000) + 500 * Int64(1 << (delivery.attempt - 1))
        queue.withLock { $0.pending.append(retry) }
    }

    /// Withdraws the deliveries tagged `tag` that have not gone yet.
    func withdraw(tag: String) {
        queue.withLock { $0.pending.removeAll { $0.tag == tag } }
    }

    /// Schedules an event of `type` about `deployment` at `at` (epoch ms), `copies` times (0 drops it).
    func schedule(
        type: String, deployment: SimulatedDeployment, project: SimulatedProject?, account: SimulatorState.Account,
        settings: Settings,
        at: Int64, due: Int64, copies: Int, tag: String?, extra: [String: JSONValue] = [:]
    ) {
        guard copies > 0, let url = settings.url ?? defaultURL else { return }
        let teamID = deployment.ownerID == account.user.id ? nil : deployment.ownerID
        var payload: [String: JSONValue] = [
            "team": teamID.map { JSONValue.object(["id": .string($0)]) } ?? .null,
            "user": .object(["id": .string(account.user.id)]),
            "deployment": .object([
                "id": .string(deployment.id), "url": .string(deployment.url), "name": .string(deployment.name),
                "meta": .object(deployment.meta.mapValues { .string($0) }),
            ]),
            "links": .object([
                "deployment": .string("https://vercel.com/\(project?.name ?? deployment.name)/\(deployment.id)"),
                "project": .string("https://vercel.com/\(project?.name ?? deployment.name)"),
            ]),
            "target": deployment.target.map { .string($0) } ?? .null,
            "project": .object(["id": .string(deployment.projectId)]),
            "plan": "hobby",
            "regions": .array(["iad1"]),
        ]
        payload.merge(extra) { _, new in new }
        if type == "deployment.created" { payload["alias"] = .array(deployment.alias.map { .string($0) }) }
        let envelope = JSONValue.object([
            "type": .string(type), "id": .string(SimulatorState.identifier("evt_")), "createdAt": .integer(Int(at)),
            "region": "iad1", "payload": .object(payload),
        ])
        let delivery = Delivery(
            tag: tag, due: due, url: url, secret: settings.secret ?? defaultSecret, body: envelope.serialized())
        queue.withLock { queue in
            for _ in 0..<copies { queue.pending.append(delivery) }
        }
    }
}
