import FastCGI
import Platform

/// The `webhooks` group: Vercel's webhooks now, the git providers' later.
public let group = FunctionGroup(name: "webhooks") { router in
    router.add("POST", "/v1/webhooks/vercel", bodyLimit: VercelWebhook.bodyLimit, VercelWebhook.handle)
    for provider in ["github", "gitlab", "bitbucket"] {
        router.plannedUnsigned("POST", "/v1/webhooks/git/\(provider)")
    }
}

/// Every refusal of the `webhooks` group, mapped to its status and code in one place.
enum WebhookError: Error {
    case notConfigured
    case invalidSignature
    case invalidEvent
}

extension WebhookError: HTTPResponseError {
    var status: Int { parts.status }
    var code: String { parts.code }
    var message: String { parts.message }

    private var parts: (status: Int, code: String, message: String) {
        switch self {
        case .notConfigured: (503, "WEBHOOKS_NOT_CONFIGURED", "No webhook secret is configured")
        case .invalidSignature: (401, "INVALID_WEBHOOK_SIGNATURE", "The webhook signature does not match its body")
        case .invalidEvent: (400, "INVALID_WEBHOOK", "The webhook body is not a Vercel event")
        }
    }
}
