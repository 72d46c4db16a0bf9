import Crypto
import Foundation
import Testing

/// Ed25519 through OpenSSL: RFC 8032's first test vector, refusals, and keys read from and written
/// to the PEM files the `openssl` tool makes.
@Suite struct Ed25519Tests {
    // RFC 8032, section 7.1, TEST 1 (the empty message).
    let seed = Hex.decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")!
    let publicRaw = Hex.decode("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")!
    let signature = Hex.decode(
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    )!

    @Test func theRFCVectorSignsAndVerifies() throws {
        let key = try Ed25519.PrivateKey(seed: seed)
        #expect(key.publicKey.raw == publicRaw)
        #expect(try key.sign([]) == signature)
        #expect(key.publicKey.verifies(signature, of: []))
        #expect(!key.publicKey.verifies(signature, of: [0]))
        var flipped = signature
        flipped[10] ^= 1
        #expect(!key.publicKey.verifies(flipped, of: []))
        #expect(!key.publicKey.verifies(Array(signature.prefix(63)), of: []))
        let other = try Ed25519.PrivateKey.generate()
        #expect(!other.publicKey.verifies(signature, of: []))
        #expect(other.publicKey.verifies(try other.sign([1, 2, 3]), of: [1, 2, 3]))
    }

    @Test func aPublicKeyReadsBackFromItsText() throws {
        let key = try #require(Ed25519.PublicKey(raw: publicRaw))
        #expect(key.text.utf8.count == 43 && Ed25519.PublicKey(text: key.text) == key)
        #expect(key.fingerprint.hasPrefix("SHA256:") && key.fingerprint.utf8.count == 50)
        #expect(Ed25519.PublicKey(raw: Array(publicRaw.prefix(31))) == nil)
        #expect(Ed25519.PublicKey(text: "not a key") == nil)
        #expect(throws: CryptoError.self) { try Ed25519.PrivateKey(seed: [1, 2, 3]) }
    }

    /// A key `openssl genpkey` wrote is read; a key written here is read by `openssl`, which
    /// verifies its signature independently.
    @Test func keysAndSignaturesAgreeWithTheOpenSSLTool() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ed25519-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let made = folder.appendingPathComponent("made.pem").path
        try run("openssl", "genpkey", "-algorithm", "ed25519", "-out", made)
        let theirs = try Ed25519.PrivateKey(pem: String(contentsOfFile: made, encoding: .utf8))
        let publicPEM = try run("openssl", "pkey", "-in", made, "-pubout", "-outform", "DER")
        #expect(publicPEM.suffix(32) == Data(theirs.publicKey.raw))

        let ours = try Ed25519.PrivateKey.generate()
        let written = folder.appendingPathComponent("ours.pem").path
        try ours.pem().write(toFile: written, atomically: true, encoding: .utf8)
        let message = Array("a statement to sign".utf8)
        let messageFile = folder.appendingPathComponent("message").path
        let signatureFile = folder.appendingPathComponent("signature").path
        try Data(message).write(to: URL(fileURLWithPath: messageFile))
        try Data(try ours.sign(message)).write(to: URL(fileURLWithPath: signatureFile))
        let verdict = try run(
            "openssl", "pkeyutl", "-verify", "-rawin", "-inkey", written, "-in", messageFile, "-sigfile",
            signatureFile)
        #expect(String(decoding: verdict, as: UTF8.self).contains("Signature Verified Successfully"))
        #expect(try Ed25519.PrivateKey(pem: ours.pem()).publicKey == ours.publicKey)
        #expect(throws: CryptoError.self) { try Ed25519.PrivateKey(pem: "-----BEGIN PRIVATE KEY-----\nAAAA\n") }
    }

    @discardableResult
    func run(_ arguments: String...) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(arguments)")
        return data
    }
}
