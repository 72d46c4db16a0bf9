import Platform

GroupFunction.run(group: "oauth") { router in
    router.platform("POST", "/v1/internal/vercel/oauth/initiate", OAuthInitiate.handle)
    router.add("GET", "/v1/internal/vercel/oauth/callback", OAuthCallback.handle)
    router.platform("POST", "/v1/internal/vercel/oauth/confirm", OAuthConfirm.handle)
    router.platform("GET", "/v1/internal/vercel/oauth/status", ConnectionStatus.handle)
    router.platform("POST", "/v1/internal/vercel/oauth/test-connection", ConnectionActions.testConnection)
    router.platform("POST", "/v1/internal/vercel/oauth/refresh", ConnectionActions.refresh)
    router.platform("POST", "/v1/internal/vercel/oauth/disconnect", Disconnect.handle)
}
