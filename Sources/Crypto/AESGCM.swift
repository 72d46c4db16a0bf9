internal import COpenSSL

/// AES-256-GCM authenticated encryption (NIST SP 800-38D) with a 96-bit IV and a 128-bit tag.
public enum AESGCM {
    public static let keyLength = 32
    public static let ivLength = 12
    public static let tagLength = 16

    /// Encrypts `plaintext` and authenticates it together with `aad`.
    /// - Parameters:
    ///   - key: 32 bytes.
    ///   - iv: 12 bytes, never reused with the same key.
    ///   - aad: associated data bound to the ciphertext but not encrypted.
    /// - Returns: the ciphertext (as long as the plaintext) and the 16-byte tag.
    public static func seal(
        _ plaintext: [UInt8], key: [UInt8], iv: [UInt8], aad: [UInt8]
    ) throws -> (ciphertext: [UInt8], tag: [UInt8]) {
        try checkLengths(key: key, iv: iv)
        let context = try CipherContext()
        try context.check(EVP_EncryptInit_ex(context.pointer, EVP_aes_256_gcm(), nil, nil, nil), "EncryptInit")
        try context.check(
            EVP_CIPHER_CTX_ctrl(context.pointer, EVP_CTRL_GCM_SET_IVLEN, Int32(ivLength), nil), "SET_IVLEN")
        try context.check(EVP_EncryptInit_ex(context.pointer, nil, nil, key, iv), "EncryptInit key")
        var length: Int32 = 0
        if !aad.isEmpty {
            try context.check(EVP_EncryptUpdate(context.pointer, nil, &length, aad, Int32(aad.count)), "AAD")
        }
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count + 16)
        var written = 0
        if !plaintext.isEmpty {
            try context.check(
                EVP_EncryptUpdate(context.pointer, &ciphertext, &length, plaintext, Int32(plaintext.count)),
                "EncryptUpdate")
            written = Int(length)
        }
        try ciphertext.withUnsafeMutableBufferPointer { buffer in
            try context.check(
                EVP_EncryptFinal_ex(context.pointer, buffer.baseAddress! + written, &length), "EncryptFinal")
        }
        written += Int(length)
        var tag = [UInt8](repeating: 0, count: tagLength)
        try context.check(
            EVP_CIPHER_CTX_ctrl(context.pointer, EVP_CTRL_GCM_GET_TAG, Int32(tagLength), &tag), "GET_TAG")
        return (Array(ciphertext.prefix(written)), tag)
    }

    /// Decrypts and verifies. Any change to the ciphertext, tag, IV, AAD or key fails.
    /// - Throws: `CryptoError.authenticationFailed` when the tag does not verify.
    public static func open(
        ciphertext: [UInt8], tag: [UInt8], key: [UInt8], iv: [UInt8], aad: [UInt8]
    ) throws -> [UInt8] {
        try checkLengths(key: key, iv: iv)
        guard tag.count == tagLength else { throw CryptoError.authenticationFailed }
        let context = try CipherContext()
        try context.check(EVP_DecryptInit_ex(context.pointer, EVP_aes_256_gcm(), nil, nil, nil), "DecryptInit")
        try context.check(
            EVP_CIPHER_CTX_ctrl(context.pointer, EVP_CTRL_GCM_SET_IVLEN, Int32(ivLength), nil), "SET_IVLEN")
        try context.check(EVP_DecryptInit_ex(context.pointer, nil, nil, key, iv), "DecryptInit key")
        var length: Int32 = 0
        if !aad.isEmpty {
            try context.check(EVP_DecryptUpdate(context.pointer, nil, &length, aad, Int32(aad.count)), "AAD")
        }
        var plaintext = [UInt8](repeating: 0, count: ciphertext.count + 16)
        var written = 0
        if !ciphertext.isEmpty {
            try context.check(
                EVP_DecryptUpdate(context.pointer, &plaintext, &length, ciphertext, Int32(ciphertext.count)),
                "DecryptUpdate")
            written = Int(length)
        }
        var expectedTag = tag
        try context.check(
            EVP_CIPHER_CTX_ctrl(context.pointer, EVP_CTRL_GCM_SET_TAG, Int32(tagLength), &expectedTag), "SET_TAG")
        let verified = plaintext.withUnsafeMutableBufferPointer { buffer in
            EVP_DecryptFinal_ex(context.pointer, buffer.baseAddress! + written, &length)
        }
        guard verified == 1 else { throw CryptoError.authenticationFailed }
        written += Int(length)
        return Array(plaintext.prefix(written))
    }

    private static func checkLengths(key: [UInt8], iv: [UInt8]) throws {
        guard key.count == keyLength else { throw CryptoError.invalidKey("AES-256 needs a 32-byte key") }
        guard iv.count == ivLength else { throw CryptoError.invalidKey("GCM IV must be 12 bytes") }
    }
}

/// Owns one `EVP_CIPHER_CTX` and frees it when released.
private final class CipherContext {
    let pointer: OpaquePointer

    init() throws {
        guard let pointer = EVP_CIPHER_CTX_new() else { throw CryptoError.openSSLFailure("EVP_CIPHER_CTX_new") }
        self.pointer = pointer
    }

    deinit { EVP_CIPHER_CTX_free(pointer) }

    func check(_ result: Int32, _ step: String) throws {
        guard result == 1 else { throw CryptoError.openSSLFailure(step) }
    }
}
