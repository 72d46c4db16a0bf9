import Crypto
import Foundation

/// The platform's request signature, built here from DESIGN.md's rule, independently of the
/// service's verifier: `METHOD \n PATH[?QUERY sorted by name] \n TIMESTAMP \n NONCE \n BODY`.
public enum PlatformSigner {
    /// The v2 signature headers for a request.
    public static func headers(
        _ method: String, _ target: String, body: Data = Data(), secret: String, timestamp: Int64? = nil,
        nonce: String? = nil
    ) -> [String: String] {
        let timestamp = timestamp ?? Int64(Date().timeIntervalSince1970)
        let nonce = nonce ?? UUID().uuidString
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var canonicalTarget = String(parts[0])
        if parts.count == 2, !parts[1].isEmpty {
            let pairs = parts[1].split(separator: "&").map(String.init)
            let sorted = pairs.sorted { a, b in
                let nameA = a.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0]
                let nameB = b.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0]
                return nameA == nameB ? a < b : nameA < nameB
            }
            canonicalTarget += "?" + sorted.joined(separator: "&")
        }
        let signedBody = method == "GET" || method == "DELETE" ? Data() : body
        let message = Data("\(method)\n\(canonicalTarget)\n\(timestamp)\n\(nonce)\n".utf8) + signedBody
        let signature = Hex.encode(HMAC.sha256(key: Array(secret.utf8), message: Array(message)))
        return ["x-sheen-sig-v2": signature, "x-sheen-timestamp": "\(timestamp)", "x-sheen-nonce": nonce]
    }
}
