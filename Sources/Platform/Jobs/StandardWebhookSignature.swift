import Crypto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The Standard Webhooks signature: `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`, keyed
/// with the bytes of a `whsec_` secret's base64 part.
public enum StandardWebhookSignature {
    public enum Failure: Error, Equatable {
        case malformedSecret
    }

    /// The `webhook-signature` value for one delivery.
    public static func sign(secret: String, id: String, timestamp: Int64, body: [UInt8]) throws -> String {
        let encoded = secret.hasPrefix("whsec_") ? String(secret.dropFirst(6)) : secret
        guard let key = Data(base64Encoded: encoded), !key.isEmpty else { throw Failure.malformedSecret }
        let message = Array("\(id).\(timestamp).".utf8) + body
        return "v1," + Data(HMAC.sha256(key: Array(key), message: message)).base64EncodedString()
    }
}
