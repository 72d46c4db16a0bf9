import Platform

GroupFunction.run(group: "oauth") { router in
    router.platform("GET", "/v1/internal/vercel/oauth/status", ConnectionStatus.handle)
    router.planned("POST", "/v1/internal/vercel/oauth/initiate")
    router.plannedUnsigned("GET", "/v1/internal/vercel/oauth/callback")
    router.planned("POST", "/v1/internal/vercel/oauth/test-connection")
    router.planned("POST", "/v1/internal/vercel/oauth/refresh")
    router.planned("POST", "/v1/internal/vercel/oauth/disconnect")
}
