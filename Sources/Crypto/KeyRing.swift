#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// The token encryption keys from `TOKEN_ENCRYPTION_KEYS` (`kid:base64key,...`): the first key seals,
/// every key opens, so keys can rotate without re-encrypting everything at once.
///
/// A sealed value is the text `v1.<kid>.<iv>.<ciphertext+tag>` (base64url parts), sealed with
/// AES-256-GCM under associated data that names its row and column (`SealContext`).
public struct KeyRing: Sendable {
    private let keys: [(id: String, key: [UInt8])]

    /// The id of the key that seals new values.
    public var currentKeyID: String { keys[0].id }

    /// Parses `kid:base64key,...`; each key must decode to 32 bytes and each id be unique.
    /// - Throws: `CryptoError.invalidKey` with a reason that never includes key material.
    public init(parsing specification: String) throws {
        var parsed: [(String, [UInt8])] = []
        for entry in specification.split(separator: ",", omittingEmptySubsequences: true) {
            let parts = entry.split(separator: ":", maxSplits: 1).map {
                String($0.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
            }
            guard parts.count == 2, Self.isValidKeyID(parts[0]) else {
                throw CryptoError.invalidKey("each entry must be kid:base64key with a kid of [A-Za-z0-9_-]{1,32}")
            }
            guard let key = Self.decodeKey(parts[1]), key.count == AESGCM.keyLength else {
                throw CryptoError.invalidKey("key '\(parts[0])' is not 32 bytes of base64")
            }
            guard !parsed.contains(where: { $0.0 == parts[0] }) else {
                throw CryptoError.invalidKey("key id '\(parts[0])' appears twice")
            }
            parsed.append((parts[0], key))
        }
        guard !parsed.isEmpty else { throw CryptoError.invalidKey("no keys given") }
        keys = parsed.map { (id: $0.0, key: $0.1) }
    }

    private init(keys: [(id: String, key: [UInt8])]) {
        self.keys = keys
    }

    /// Whether the ring holds a key with this id.
    public func holds(_ id: String) -> Bool {
        keys.contains { $0.id == id }
    }

    /// The ring, able besides to open values sealed under `key` as `id` (a key recovered from
    /// escrow). It seals with the same current key as before.
    public func opening(_ key: [UInt8], as id: String) throws -> KeyRing {
        guard Self.isValidKeyID(id), key.count == AESGCM.keyLength else {
            throw CryptoError.invalidKey("a recovered key must be 32 bytes under a valid id")
        }
        guard !holds(id) else { return self }
        return KeyRing(keys: keys + [(id: id, key: key)])
    }

    /// Runs `body` with the current key's id and bytes: only for putting the key in escrow
    /// (`vercel-keyescrow split`), which must not keep them.
    public func withCurrentKey<T>(_ body: (_ id: String, _ key: [UInt8]) throws -> T) rethrows -> T {
        try body(keys[0].id, keys[0].key)
    }

    /// The key check value of `key`: an HMAC-SHA256 of a constant under it, in hex. It tells a key
    /// recovered from shares apart from a wrong one without telling anything of the key.
    public static func checkValue(of key: [UInt8]) -> String {
        Hex.encode(HMAC.sha256(key: key, message: Array("sheen.vercel.key-check.v1".utf8)))
    }

    /// Seals `plaintext` for the row and column `context` names, with a fresh random IV.
    public func seal(_ plaintext: String, context: SealContext) throws -> String {
        let (id, key) = keys[0]
        let iv = try SecureRandom.bytes(AESGCM.ivLength)
        let sealed = try AESGCM.seal(Array(plaintext.utf8), key: key, iv: iv, aad: context.associatedData(keyID: id))
        return ["v1", id, Base64URL.encode(iv), Base64URL.encode(sealed.ciphertext + sealed.tag)]
            .joined(separator: ".")
    }

    /// Opens a value sealed by `seal(_:context:)` for the same row and column.
    /// - Throws: `CryptoError.authenticationFailed` if it was tampered with, sealed for another
    ///   row or column, or under another key with the same id.
    public func open(_ sealed: String, context: SealContext) throws -> String {
        let envelope = try Envelope(sealed)
        guard let key = keys.first(where: { $0.id == envelope.keyID })?.key else {
            throw CryptoError.unknownKeyID(envelope.keyID)
        }
        let plaintext = try AESGCM.open(
            ciphertext: envelope.ciphertext, tag: envelope.tag, key: key, iv: envelope.iv,
            aad: context.associatedData(keyID: envelope.keyID))
        guard let text = String(validating: plaintext, as: UTF8.self) else { throw CryptoError.authenticationFailed }
        return text
    }

    /// The key id a sealed value names, to find values still sealed under a retired key.
    public static func keyID(of sealed: String) throws -> String {
        try Envelope(sealed).keyID
    }

    static func isValidKeyID(_ id: String) -> Bool {
        (1...32).contains(id.utf8.count)
            && id.utf8.allSatisfy { c in
                (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2d
                    || c == 0x5f
            }
    }

    private static func decodeKey(_ text: String) -> [UInt8]? {
        // Standard base64 is accepted too: map it to the URL alphabet first.
        Base64URL.decode(
            String(
                decoding: text.utf8.map { byte in
                    switch byte {
                    case UInt8(ascii: "+"): UInt8(ascii: "-")
                    case UInt8(ascii: "/"): UInt8(ascii: "_")
                    default: byte
                    }
                }, as: UTF8.self))
    }
}

extension KeyRing: CustomStringConvertible {
    public var description: String { "KeyRing(keyIDs: \(keys.map(\.id)))" }
}

private struct Envelope {
    let keyID: String
    let iv: [UInt8]
    let ciphertext: [UInt8]
    let tag: [UInt8]

    init(_ text: String) throws {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 4, parts[0] == "v1", KeyRing.isValidKeyID(parts[1]),
            let iv = Base64URL.decode(parts[2]), iv.count == AESGCM.ivLength,
            let body = Base64URL.decode(parts[3]), body.count >= AESGCM.tagLength
        else { throw CryptoError.malformedSealedValue }
        keyID = parts[1]
        self.iv = iv
        ciphertext = Array(body.dropLast(AESGCM.tagLength))
        tag = Array(body.suffix(AESGCM.tagLength))
    }
}
