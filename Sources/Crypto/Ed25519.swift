internal import COpenSSL

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Ed25519 (RFC 8032) through OpenSSL's EVP interface: the admins' keys that sign break-glass
/// decisions, and the key that signs audit checkpoints. Only public keys and signatures ever reach
/// the service's database; a private key lives in its holder's file.
public enum Ed25519 {
    public static let publicKeyLength = 32
    public static let signatureLength = 64

    /// A public key: its 32 raw bytes.
    public struct PublicKey: Sendable, Equatable, Hashable {
        public let raw: [UInt8]

        /// Nil unless `raw` is 32 bytes OpenSSL accepts as an Ed25519 point.
        public init?(raw: [UInt8]) {
            guard raw.count == Ed25519.publicKeyLength, Ed25519.withKey(public: raw, { _ in true }) == true else {
                return nil
            }
            self.raw = raw
        }

        /// The base64url text of the raw key (43 characters), as requests and answers carry it.
        public var text: String { Base64URL.encode(raw) }

        public init?(text: String) {
            guard text.utf8.count == 43, let raw = Base64URL.decode(text) else { return nil }
            self.init(raw: raw)
        }

        /// `SHA256:` and the unpadded base64 of the key's SHA-256, as OpenSSH prints fingerprints.
        public var fingerprint: String {
            "SHA256:" + Data(Digest.sha256(raw)).base64EncodedString().filter { $0 != "=" }
        }

        /// Whether `signature` is this key's signature of `message`.
        public func verifies(_ signature: [UInt8], of message: [UInt8]) -> Bool {
            guard signature.count == Ed25519.signatureLength else { return false }
            return Ed25519.withKey(public: raw) { key in
                guard let context = EVP_MD_CTX_new() else { return false }
                defer { EVP_MD_CTX_free(context) }
                guard EVP_DigestVerifyInit(context, nil, nil, nil, key) == 1 else { return false }
                return signature.withUnsafeBufferPointer { signature in
                    message.withUnsafeBufferPointer { message in
                        EVP_DigestVerify(
                            context, signature.baseAddress, signature.count, message.baseAddress, message.count) == 1
                    }
                }
            } ?? false
        }
    }

    /// A private key: its 32-byte seed. Never logged, never sent.
    public struct PrivateKey: Sendable {
        let seed: [UInt8]
        public let publicKey: PublicKey

        public init(seed: [UInt8]) throws {
            guard seed.count == 32 else { throw CryptoError.invalidKey("an Ed25519 seed is 32 bytes") }
            guard
                let raw = Ed25519.withKey(
                    private: seed,
                    { key -> [UInt8]? in
                        var out = [UInt8](repeating: 0, count: 32)
                        var length = 32
                        guard EVP_PKEY_get_raw_public_key(key, &out, &length) == 1, length == 32 else { return nil }
                        return out
                    }) ?? nil,
                let publicKey = PublicKey(raw: raw)
            else { throw CryptoError.openSSLFailure("EVP_PKEY_new_raw_private_key") }
            self.seed = seed
            self.publicKey = publicKey
        }

        /// A new key from the system's secure random source.
        public static func generate() throws -> PrivateKey {
            try PrivateKey(seed: SecureRandom.bytes(32))
        }

        /// The 64-byte signature of `message`.
        public func sign(_ message: [UInt8]) throws -> [UInt8] {
            let signature = Ed25519.withKey(private: seed) { key -> [UInt8]? in
                guard let context = EVP_MD_CTX_new() else { return nil }
                defer { EVP_MD_CTX_free(context) }
                guard EVP_DigestSignInit(context, nil, nil, nil, key) == 1 else { return nil }
                var out = [UInt8](repeating: 0, count: Ed25519.signatureLength)
                var length = out.count
                let signed = message.withUnsafeBufferPointer { message in
                    EVP_DigestSign(context, &out, &length, message.baseAddress, message.count)
                }
                return signed == 1 && length == Ed25519.signatureLength ? out : nil
            }
            guard let signature = signature ?? nil else { throw CryptoError.openSSLFailure("EVP_DigestSign") }
            return signature
        }

        /// The key as a PKCS #8 PEM file (`-----BEGIN PRIVATE KEY-----`), as
        /// `openssl genpkey -algorithm ed25519` writes it.
        public func pem() throws -> String {
            let text = Ed25519.withKey(private: seed) { key -> String? in
                guard let bio = BIO_new(BIO_s_mem()) else { return nil }
                defer { BIO_free(bio) }
                guard PEM_write_bio_PrivateKey(bio, key, nil, nil, 0, nil, nil) == 1 else { return nil }
                var pointer: UnsafeMutablePointer<CChar>?
                let length = BIO_ctrl(bio, BIO_CTRL_INFO, 0, &pointer)
                guard length > 0, let pointer else { return nil }
                return String(
                    decoding: UnsafeRawBufferPointer(start: pointer, count: Int(length)), as: UTF8.self)
            }
            guard let text = text ?? nil else { throw CryptoError.openSSLFailure("PEM_write_bio_PrivateKey") }
            return text
        }

        /// Reads a PKCS #8 PEM Ed25519 private key (unencrypted).
        public init(pem: String) throws {
            let bytes = Array(pem.utf8)
            guard bytes.count <= 4096 else { throw CryptoError.invalidKey("the key file is larger than 4 KiB") }
            let seed = bytes.withUnsafeBufferPointer { buffer -> [UInt8]? in
                guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else { return nil }
                defer { BIO_free(bio) }
                guard let key = PEM_read_bio_PrivateKey(bio, nil, nil, nil) else { return nil }
                defer { EVP_PKEY_free(key) }
                guard EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 else { return nil }
                var out = [UInt8](repeating: 0, count: 32)
                var length = 32
                guard EVP_PKEY_get_raw_private_key(key, &out, &length) == 1, length == 32 else { return nil }
                return out
            }
            guard let seed else { throw CryptoError.invalidKey("not an unencrypted PEM Ed25519 private key") }
            try self.init(seed: seed)
        }
    }

    private static func withKey<T>(public raw: [UInt8], _ body: (OpaquePointer) -> T) -> T? {
        guard
            let key = raw.withUnsafeBufferPointer({
                EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, $0.baseAddress, $0.count)
            })
        else { return nil }
        defer { EVP_PKEY_free(key) }
        return body(key)
    }

    private static func withKey<T>(private seed: [UInt8], _ body: (OpaquePointer) -> T) -> T? {
        guard
            let key = seed.withUnsafeBufferPointer({
                EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, $0.baseAddress, $0.count)
            })
        else { return nil }
        defer { EVP_PKEY_free(key) }
        return body(key)
    }
}
