import Platform

GroupFunction.run(group: "webhooks") { router in
    router.plannedUnsigned("POST", "/v1/webhooks/vercel")
    for provider in ["github", "gitlab", "bitbucket"] {
        router.plannedUnsigned("POST", "/v1/webhooks/git/\(provider)")
    }
}
