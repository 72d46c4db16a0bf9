import Logging
import Vercel

/// Revokes tokens at Vercel before they are forgotten: best effort, since a token this service no
/// longer holds cannot be used by it anyway; a failure is logged with Vercel's reason.
public enum TokenRevocation {
    /// Whether every token was revoked.
    @discardableResult
    public static func revoke(_ tokens: [String?], with oauth: VercelOAuth, logger: Logger) -> Bool {
        var revokedAll = true
        for token in tokens.compactMap({ $0 }) {
            do {
                try oauth.revoke(token)
            } catch {
                revokedAll = false
                logger.warning(
                    "token revocation failed; forgetting the token anyway", metadata: ["vercel.error": "\(error.code)"])
            }
        }
        return revokedAll
    }
}
