import FastCGI
import Platform

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The `oauth` group: connecting a Vercel account (initiate, callback, confirm), its status, a test
/// call, a token refresh and disconnecting.
public let group = FunctionGroup(name: "oauth") { router in
    let base = "/v1/internal/vercel/oauth"
    router.platform("POST", "\(base)/initiate", input: OAuthInitiate.Input.self, OAuthInitiate.handle)
    router.add("GET", "\(base)/callback", OAuthCallback.handle)
    router.platform("POST", "\(base)/confirm", input: OAuthConfirm.Input.self, OAuthConfirm.handle)
    router.platform("GET", "\(base)/status", ConnectionStatus.handle)
    router.platform("POST", "\(base)/test-connection", input: ConnectionChoice.self, ConnectionActions.testConnection)
    router.platform("POST", "\(base)/refresh", input: ConnectionChoice.self, ConnectionActions.refresh)
    router.platform("POST", "\(base)/disconnect", input: ConnectionChoice.self, Disconnect.handle)
}

/// The body of routes that act on one of the caller's connections: `connectionId`, or their newest.
struct ConnectionChoice: Decodable {
    let connectionId: String?

    /// The connection named, as a UUID.
    func id() throws -> UUID? {
        try connectionId.map { text in
            guard let id = UUID(uuidString: text) else { throw PlatformError.invalidConnectionID }
            return id
        }
    }
}
