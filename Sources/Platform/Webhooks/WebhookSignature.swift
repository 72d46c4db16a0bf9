import Crypto

/// Vercel's webhook signature: `x-vercel-signature` is the lowercase hex HMAC-SHA1 of the raw body,
/// keyed with the integration's client secret (or an account webhook's own secret). Every secret
/// of `VERCEL_WEBHOOK_SECRETS` is tried, so secrets can rotate; each comparison is constant-time.
public enum WebhookSignature {
    public static let header = "x-vercel-signature"

    /// Whether `signature` signs `body` under one of `secrets`.
    public static func isValid(_ signature: String?, body: [UInt8], secrets: [[UInt8]]) -> Bool {
        guard let signature, signature.utf8.count == 40, let given = Hex.decode(signature) else { return false }
        var matched = false
        for secret in secrets where !secret.isEmpty {
            // No early exit: the time taken does not tell which secret matched.
            if ConstantTime.equals(HMAC.sha1(key: secret, message: body), given) { matched = true }
        }
        return matched
    }

    /// `VERCEL_WEBHOOK_SECRETS`: comma-separated, each used as raw UTF-8 bytes.
    public static func secrets(from text: String) -> [[UInt8]] {
        text.split(separator: ",").map { Array($0.utf8) }.filter { !$0.isEmpty }
    }
}
