internal import COpenSSL

/// One-shot message digests (SHA-256, SHA-1) through OpenSSL's EVP interface.
public enum Digest {
    /// SHA-256 of `bytes` (32 bytes).
    public static func sha256(_ bytes: some Collection<UInt8>) -> [UInt8] {
        digest(Array(bytes), EVP_sha256(), length: 32)
    }

    /// SHA-1 of `bytes` (20 bytes). Only for protocols that require it (Vercel's file digests and
    /// webhook signatures); never for anything this service designs itself.
    public static func sha1(_ bytes: some Collection<UInt8>) -> [UInt8] {
        digest(Array(bytes), EVP_sha1(), length: 20)
    }

    /// SHA-256 of the UTF-8 bytes of `text`, as lowercase hex.
    public static func sha256Hex(_ text: String) -> String {
        Hex.encode(sha256(Array(text.utf8)))
    }

    private static func digest(_ bytes: [UInt8], _ type: OpaquePointer?, length: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: length)
        var outLength: UInt32 = 0
        let ok = bytes.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { output in
                EVP_Digest(input.baseAddress, input.count, output.baseAddress, &outLength, type, nil)
            }
        }
        precondition(ok == 1 && Int(outLength) == length, "EVP_Digest cannot fail for in-memory input")
        return out
    }
}
