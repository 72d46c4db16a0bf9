import Crypto
import Testing

/// Known answers from the GCM specification (McGrew & Viega), test cases 13–16 (256-bit keys).
@Suite struct AESGCMTests {
    struct Vector: Sendable, CustomTestStringConvertible {
        let name: String
        let key: String
        let iv: String
        let plaintext: String
        let aad: String
        let ciphertext: String
        let tag: String
        var testDescription: String { name }
    }

    static let k15 = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"
    static let p15 =
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
        + "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255"
    static let c15 =
        "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
        + "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad"

    static let vectors: [Vector] = [
        Vector(
            name: "case 13", key: String(repeating: "00", count: 32), iv: String(repeating: "00", count: 12),
            plaintext: "", aad: "", ciphertext: "", tag: "530f8afbc74536b9a963b4f1c4cb738b"),
        Vector(
            name: "case 14", key: String(repeating: "00", count: 32), iv: String(repeating: "00", count: 12),
            plaintext: String(repeating: "00", count: 16), aad: "",
            ciphertext: "cea7403d4d606b6e074ec5d3baf39d18", tag: "d0d1c8a799996bf0265b98b5d48ab919"),
        Vector(
            name: "case 15", key: k15, iv: "cafebabefacedbaddecaf888", plaintext: p15, aad: "",
            ciphertext: c15, tag: "b094dac5d93471bdec1a502270e3cc6c"),
        Vector(
            name: "case 16", key: k15, iv: "cafebabefacedbaddecaf888", plaintext: String(p15.prefix(120)),
            aad: "feedfacedeadbeeffeedfacedeadbeefabaddad2", ciphertext: String(c15.prefix(120)),
            tag: "76fc6ece0f4e1768cddf8853bb2d551b"),
    ]

    @Test(arguments: vectors)
    func sealMatchesTheSpecification(_ v: Vector) throws {
        let sealed = try AESGCM.seal(
            Hex.decode(v.plaintext)!, key: Hex.decode(v.key)!, iv: Hex.decode(v.iv)!, aad: Hex.decode(v.aad)!)
        #expect(Hex.encode(sealed.ciphertext) == v.ciphertext)
        #expect(Hex.encode(sealed.tag) == v.tag)
    }

    @Test(arguments: vectors)
    func openRecoversThePlaintext(_ v: Vector) throws {
        let plaintext = try AESGCM.open(
            ciphertext: Hex.decode(v.ciphertext)!, tag: Hex.decode(v.tag)!, key: Hex.decode(v.key)!,
            iv: Hex.decode(v.iv)!, aad: Hex.decode(v.aad)!)
        #expect(Hex.encode(plaintext) == v.plaintext)
    }

    @Test func aFlippedCiphertextBitFailsToOpen() throws {
        let v = Self.vectors[3]
        var ciphertext = Hex.decode(v.ciphertext)!
        ciphertext[7] ^= 0x01
        #expect(throws: CryptoError.authenticationFailed) {
            try AESGCM.open(
                ciphertext: ciphertext, tag: Hex.decode(v.tag)!, key: Hex.decode(v.key)!, iv: Hex.decode(v.iv)!,
                aad: Hex.decode(v.aad)!)
        }
    }

    @Test func aFlippedTagBitFailsToOpen() throws {
        let v = Self.vectors[3]
        var tag = Hex.decode(v.tag)!
        tag[15] ^= 0x80
        #expect(throws: CryptoError.authenticationFailed) {
            try AESGCM.open(
                ciphertext: Hex.decode(v.ciphertext)!, tag: tag, key: Hex.decode(v.key)!, iv: Hex.decode(v.iv)!,
                aad: Hex.decode(v.aad)!)
        }
    }

    @Test func wrongAssociatedDataFailsToOpen() throws {
        let v = Self.vectors[3]
        var aad = Hex.decode(v.aad)!
        aad[0] ^= 0x01
        #expect(throws: CryptoError.authenticationFailed) {
            try AESGCM.open(
                ciphertext: Hex.decode(v.ciphertext)!, tag: Hex.decode(v.tag)!, key: Hex.decode(v.key)!,
                iv: Hex.decode(v.iv)!, aad: aad)
        }
    }

    @Test func wrongKeyFailsToOpen() throws {
        let v = Self.vectors[2]
        var key = Hex.decode(v.key)!
        key[31] ^= 0x01
        #expect(throws: CryptoError.authenticationFailed) {
            try AESGCM.open(
                ciphertext: Hex.decode(v.ciphertext)!, tag: Hex.decode(v.tag)!, key: key, iv: Hex.decode(v.iv)!,
                aad: [])
        }
    }

    @Test func shortKeysAndIVsAreRefused() {
        #expect(throws: CryptoError.self) {
            try AESGCM.seal([1], key: [UInt8](repeating: 0, count: 16), iv: [UInt8](repeating: 0, count: 12), aad: [])
        }
        #expect(throws: CryptoError.self) {
            try AESGCM.seal([1], key: [UInt8](repeating: 0, count: 32), iv: [UInt8](repeating: 0, count: 8), aad: [])
        }
    }
}
