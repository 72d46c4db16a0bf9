import FastCGI
import Platform
import PlatformHost

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The `oauth` group: connecting a Vercel account (initiate, callback, confirm), its status, a test
/// call, a token refresh and disconnecting.
public let group = FunctionGroup(name: "oauth") { router in
    let base = "/v1/internal/vercel/oauth"
    router.platform("POST", "\(base)/initiate", input: OAuthInitiate.Input.self, reach: .local, OAuthInitiate.handle)
    router.add("GET", "\(base)/callback", screened: false, OAuthCallback.handle)
    router.platform("POST", "\(base)/confirm", input: OAuthConfirm.Input.self, OAuthConfirm.handle)
    router.platform("GET", "\(base)/status", reach: .local, ConnectionStatus.handle)
    router.platform("POST", "\(base)/test-connection", ConnectionActions.testConnection)
    router.platform("POST", "\(base)/refresh", ConnectionActions.refresh)
    router.platform("POST", "\(base)/disconnect", Disconnect.handle)
}
