import Crypto
import Testing

@Suite struct PrimitivesTests {
    // RFC 4231 test case 2 and RFC 2202 test case 2.
    @Test func hmacSHA256MatchesRFC4231() {
        let mac = HMAC.sha256(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
        #expect(Hex.encode(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test func hmacSHA1MatchesRFC2202() {
        let mac = HMAC.sha1(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
        #expect(Hex.encode(mac) == "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79")
    }

    @Test func hmacAcceptsAnEmptyKey() {
        #expect(
            Hex.encode(HMAC.sha256(key: [], message: []))
                == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
    }

    // FIPS 180 examples.
    @Test func digestsMatchFIPS180() {
        #expect(
            Hex.encode(Digest.sha256(Array("abc".utf8)))
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Hex.encode(Digest.sha1(Array("abc".utf8))) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(Digest.sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func constantTimeEqualityComparesContentsAndLengths() {
        #expect(ConstantTime.equals([1, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2, 4]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2]))
        #expect(ConstantTime.equals([UInt8](), [UInt8]()))
        #expect(ConstantTime.equals("abc", "abc"))
        #expect(!ConstantTime.equals("abc", "abd"))
    }

    @Test func randomBytesDifferAndHaveTheAskedLength() throws {
        let a = try SecureRandom.bytes(32)
        let b = try SecureRandom.bytes(32)
        #expect(a.count == 32 && a != b)
        #expect(try SecureRandom.token().utf8.count == 43)
    }

    @Test(arguments: [
        ([UInt8](), ""), ([0xfb], "-w"), ([0xff, 0xfe], "__4"), ([0x66, 0x6f, 0x6f, 0x62], "Zm9vYg"),
    ])
    func base64URLRoundTrips(_ bytes: [UInt8], _ text: String) {
        #expect(Base64URL.encode(bytes) == text)
        #expect(Base64URL.decode(text) == bytes)
    }

    @Test func base64URLRejectsStandardAlphabetAndBadLengths() {
        #expect(Base64URL.decode("+w") == nil)
        #expect(Base64URL.decode("abcde") == nil)
    }

    @Test func hexRoundTripsAndRejectsJunk() {
        #expect(Hex.decode("00ff7F") == [0, 255, 127])
        #expect(Hex.decode("0g") == nil)
        #expect(Hex.decode("abc") == nil)
    }
}
