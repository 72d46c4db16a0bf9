internal import COpenSSL

/// Cryptographically secure random bytes from OpenSSL's DRBG.
public enum SecureRandom {
    /// `count` random bytes.
    /// - Throws: `CryptoError.openSSLFailure` if the generator is not seeded.
    public static func bytes(_ count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return out }
        let ok = out.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32(count)) }
        guard ok == 1 else { throw CryptoError.openSSLFailure("RAND_bytes") }
        return out
    }

    /// A random token of `byteCount` bytes, base64url without padding (256 bits → 43 characters).
    public static func token(byteCount: Int = 32) throws -> String {
        Base64URL.encode(try bytes(byteCount))
    }
}
