import Platform

GroupFunction.run(group: "webhooks") { router in
    router.add("POST", "/v1/webhooks/vercel", bodyLimit: VercelWebhook.bodyLimit, VercelWebhook.handle)
    for provider in ["github", "gitlab", "bitbucket"] {
        router.plannedUnsigned("POST", "/v1/webhooks/git/\(provider)")
    }
}
