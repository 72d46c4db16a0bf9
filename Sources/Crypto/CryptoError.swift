/// Failures of the cryptographic primitives. None of them carries key material or plaintext.
public enum CryptoError: Error, Equatable, Sendable {
    /// OpenSSL refused an operation; the associated text names the call, never the data.
    case openSSLFailure(String)
    /// A key of the wrong length, or a key ring that cannot be parsed.
    case invalidKey(String)
    /// The ciphertext, its tag, or its associated data do not match: tampered, wrong key or wrong row.
    case authenticationFailed
    /// A sealed value whose envelope cannot be parsed.
    case malformedSealedValue
    /// A sealed value names a key id that the key ring does not hold.
    case unknownKeyID(String)
}
