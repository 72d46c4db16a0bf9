import Crypto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What an admin signs with their own Ed25519 key to decide on a break-glass request, or to hand in
/// a key share: a canonical statement of the request (its id, level and content digest), the action,
/// what it acts on, a nonce and the time. The service rebuilds the statement from the request it
/// holds, so a signature counts only for the request the admin saw, once, within five minutes.
/// `vercel-admin` builds the same bytes with this code.
public struct AdminStatement: Sendable, Equatable {
    public enum Action: String, Sendable, CaseIterable {
        case approve
        case deny
        case execute
        /// A key share handed in for recovery; the subject is the SHA-256 of the share's text.
        case share
        /// The shares gathered so far discarded.
        case resetShares = "reset-shares"
    }

    public let request: UUID
    public let action: Action
    public let level: String
    /// The request's content digest (`BreakglassStore.Request.digest`).
    public let digest: String
    /// Lowercase hex SHA-256 of what the action acts on beyond the request (a share), or `-`.
    public let subject: String
    public let nonce: String
    public let timestamp: Int64

    public init(
        request: UUID, action: Action, level: String, digest: String, subject: String = "-", nonce: String,
        timestamp: Int64
    ) {
        self.request = request
        self.action = action
        self.level = level
        self.digest = digest
        self.subject = subject
        self.nonce = nonce
        self.timestamp = timestamp
    }

    /// How far a statement's time may be from the service's, either way.
    public static let allowedSkewSeconds: Int64 = 300

    /// The bytes signed: one `name value` line each, in this order.
    public var bytes: [UInt8] {
        Array(
            [
                "sheen-vercel admin statement v1", "request \(request.uuidString.lowercased())",
                "action \(action.rawValue)", "level \(level)", "digest \(digest)", "subject \(subject)",
                "nonce \(nonce)", "timestamp \(timestamp)",
            ].joined(separator: "\n").utf8)
    }

    /// A nonce is 16 to 64 base64url characters.
    public static func isValidNonce(_ nonce: String) -> Bool {
        (16...64).contains(nonce.utf8.count)
            && nonce.utf8.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                    || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-")
                    || byte == UInt8(ascii: "_")
            }
    }

    /// A fresh random nonce (24 base64url characters).
    public static func nonce() throws -> String { Base64URL.encode(try SecureRandom.bytes(18)) }

    /// The subject of a share: the SHA-256 of its text.
    public static func subject(ofShare text: String) -> String { Digest.sha256Hex(text) }

    /// What a key's holder signs with the new key to show they hold it, when its enrolment or
    /// rotation is requested.
    public static func proofOfPossession(admin: UUID, key: Ed25519.PublicKey) -> [UInt8] {
        Array("sheen-vercel admin key v1\nadmin \(admin.uuidString.lowercased())\nkey \(key.text)".utf8)
    }
}

/// A signature over an `AdminStatement` as a request carries it (`adminSignature`).
public struct AdminSignature: Codable, Sendable, Equatable {
    public let keyFingerprint: String
    public let nonce: String
    public let timestamp: Int64
    /// Base64url of the 64-byte Ed25519 signature.
    public let value: String

    public init(keyFingerprint: String, nonce: String, timestamp: Int64, value: String) {
        self.keyFingerprint = keyFingerprint
        self.nonce = nonce
        self.timestamp = timestamp
        self.value = value
    }

    /// Signs `statement` with `key`.
    public static func sign(_ statement: AdminStatement, with key: Ed25519.PrivateKey) throws -> AdminSignature {
        AdminSignature(
            keyFingerprint: key.publicKey.fingerprint, nonce: statement.nonce, timestamp: statement.timestamp,
            value: Base64URL.encode(try key.sign(statement.bytes)))
    }
}
