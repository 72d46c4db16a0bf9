internal import COpenSSL

/// One-shot HMAC (RFC 2104) with SHA-256 or SHA-1.
public enum HMAC {
    /// HMAC-SHA256 of `message` under `key` (32 bytes).
    public static func sha256(key: some Collection<UInt8>, message: some Collection<UInt8>) -> [UInt8] {
        mac(Array(key), Array(message), EVP_sha256(), length: 32)
    }

    /// HMAC-SHA1 of `message` under `key` (20 bytes), as Vercel signs its webhooks.
    public static func sha1(key: some Collection<UInt8>, message: some Collection<UInt8>) -> [UInt8] {
        mac(Array(key), Array(message), EVP_sha1(), length: 20)
    }

    private static func mac(_ key: [UInt8], _ message: [UInt8], _ type: OpaquePointer?, length: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: length)
        var outLength: UInt32 = 0
        // HMAC() rejects a NULL key pointer even for an empty key; give it one byte of storage.
        let keyStorage = key.isEmpty ? [UInt8(0)] : key
        let result = keyStorage.withUnsafeBufferPointer { k in
            message.withUnsafeBufferPointer { m in
                out.withUnsafeMutableBufferPointer { o in
                    COpenSSL.HMAC(
                        type, k.baseAddress, Int32(key.count), m.baseAddress, m.count, o.baseAddress, &outLength)
                }
            }
        }
        precondition(result != nil && Int(outLength) == length, "HMAC cannot fail for in-memory input")
        return out
    }
}
