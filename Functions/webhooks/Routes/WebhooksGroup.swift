import FastCGI
import Platform
import PlatformHost

/// The `webhooks` group: Vercel's webhooks, and the git providers' pushes and pull requests.
/// Vercel's are recorded and applied in the database alone, so an accepting worker serves them and
/// no git delivery, which may deploy, ever stands in front of one. Git deliveries wait in the line
/// of the project their URL names (`?projectId=`, see `GitRepository`), so one project's flood
/// waits behind itself.
public let group = FunctionGroup(name: "webhooks") { router in
    router.add(
        "POST", "/v1/webhooks/vercel", bodyLimit: VercelWebhook.bodyLimit, reach: .local, VercelWebhook.handle)
    for provider in GitProvider.allCases {
        router.add(
            "POST", "/v1/webhooks/git/\(provider.rawValue)", bodyLimit: GitWebhook.bodyLimit,
            GitWebhook.handler(provider))
    }
}

/// Every refusal of the `webhooks` group, mapped to its status and code in one place.
enum WebhookError: Error {
    case notConfigured
    case invalidSignature
    case invalidEvent
    case gitProofMissing
    case gitDeliveryIDMissing(String)
    case invalidGitEvent
}

extension WebhookError: GroupRefusal {
    var parts: (status: Int, code: String, message: String) {
        switch self {
        case .notConfigured: (503, "WEBHOOKS_NOT_CONFIGURED", "No webhook secret is configured")
        case .invalidSignature: (401, "INVALID_WEBHOOK_SIGNATURE", "The webhook signature does not match its body")
        case .invalidEvent: (400, "INVALID_WEBHOOK", "The webhook body is not a Vercel event")
        case .gitProofMissing:
            (
                401, "INVALID_WEBHOOK_SIGNATURE",
                "The delivery is not proven by the secret of a repository configured here"
            )
        case .gitDeliveryIDMissing(let header): (400, "INVALID_WEBHOOK", "The delivery has no usable \(header) header")
        case .invalidGitEvent: (400, "INVALID_WEBHOOK", "The delivery's body is not the event its header names")
        }
    }
}
