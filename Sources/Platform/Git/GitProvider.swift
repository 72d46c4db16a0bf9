import Crypto
import Kernel

/// A git host whose webhooks deploy: how it proves a delivery and names it.
public enum GitProvider: String, Sendable, CaseIterable, Codable {
    case github
    case gitlab
    case bitbucket

    /// The header that names the delivery, unique per delivery (a redelivery keeps it).
    public var deliveryHeader: String {
        switch self {
        case .github: "x-github-delivery"
        case .gitlab: "x-gitlab-event-uuid"
        case .bitbucket: "x-request-uuid"
        }
    }

    /// The header that names the event.
    public var eventHeader: String {
        switch self {
        case .github: "x-github-event"
        case .gitlab: "x-gitlab-event"
        case .bitbucket: "x-event-key"
        }
    }

    /// Whether the delivery's headers prove it was sent with one of `secrets`, over the exact body:
    /// GitHub's `X-Hub-Signature-256` and Bitbucket Cloud's `X-Hub-Signature` are
    /// `sha256=<hex HMAC-SHA256 of the body>`; GitLab's `X-Gitlab-Token` is the secret itself.
    /// Every secret is compared, in constant time, with no early exit.
    public func proves(_ headers: HTTPHeaders, body: [UInt8], secrets: [[UInt8]]) -> Bool {
        switch self {
        case .github: Self.hmacProof(headers["x-hub-signature-256"], body: body, secrets: secrets)
        case .bitbucket: Self.hmacProof(headers["x-hub-signature"], body: body, secrets: secrets)
        case .gitlab: Self.tokenProof(headers["x-gitlab-token"], secrets: secrets)
        }
    }

    static func hmacProof(_ header: String?, body: [UInt8], secrets: [[UInt8]]) -> Bool {
        guard let header, header.hasPrefix("sha256="), header.utf8.count == 71,
            let given = Hex.decode(String(header.dropFirst(7)))
        else { return false }
        var matched = false
        for secret in secrets where !secret.isEmpty {
            if ConstantTime.equals(HMAC.sha256(key: secret, message: body), given) { matched = true }
        }
        return matched
    }

    static func tokenProof(_ header: String?, secrets: [[UInt8]]) -> Bool {
        guard let header, !header.isEmpty, header.utf8.count <= 1024 else { return false }
        // Digests of equal length, so the comparison takes the same time whatever the lengths.
        let given = Digest.sha256(Array(header.utf8))
        var matched = false
        for secret in secrets where !secret.isEmpty {
            if ConstantTime.equals(Digest.sha256(secret), given) { matched = true }
        }
        return matched
    }
}
