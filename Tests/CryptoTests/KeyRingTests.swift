import Crypto
import Foundation
import Testing

@Suite struct KeyRingTests {
    static let keyA = Data(repeating: 0xA1, count: 32).base64EncodedString()
    static let keyB = Data(repeating: 0xB2, count: 32).base64EncodedString()
    let row = SealContext(
        table: "vercel_connections", column: "access_token", rowID: "6f1c0b7e-0000-4000-8000-000000000001")

    @Test func sealedValueOpensForTheSameRowAndColumn() throws {
        let ring = try KeyRing(parsing: "k1:\(Self.keyA)")
        let sealed = try ring.seal("vca_secret-token", context: row)
        #expect(try ring.open(sealed, context: row) == "vca_secret-token")
        #expect(!sealed.contains("secret"))
        #expect(try KeyRing.keyID(of: sealed) == "k1")
    }

    @Test func eachSealUsesAFreshIV() throws {
        let ring = try KeyRing(parsing: "k1:\(Self.keyA)")
        #expect(try ring.seal("same", context: row) != ring.seal("same", context: row))
    }

    @Test func aValueCopiedToAnotherRowFailsToOpen() throws {
        let ring = try KeyRing(parsing: "k1:\(Self.keyA)")
        let sealed = try ring.seal("vca_secret-token", context: row)
        let otherRow = SealContext(table: row.table, column: row.column, rowID: "6f1c0b7e-0000-4000-8000-000000000002")
        #expect(throws: CryptoError.authenticationFailed) { try ring.open(sealed, context: otherRow) }
    }

    @Test func aValueCopiedToAnotherColumnFailsToOpen() throws {
        let ring = try KeyRing(parsing: "k1:\(Self.keyA)")
        let sealed = try ring.seal("vca_secret-token", context: row)
        let otherColumn = SealContext(table: row.table, column: "refresh_token", rowID: row.rowID)
        #expect(throws: CryptoError.authenticationFailed) { try ring.open(sealed, context: otherColumn) }
    }

    @Test func rotatedRingOpensOldValuesAndSealsWithTheNewKey() throws {
        let old = try KeyRing(parsing: "k1:\(Self.keyA)")
        let sealedUnderOld = try old.seal("token", context: row)
        let rotated = try KeyRing(parsing: "k2:\(Self.keyB),k1:\(Self.keyA)")
        #expect(try rotated.open(sealedUnderOld, context: row) == "token")
        #expect(try KeyRing.keyID(of: rotated.seal("token", context: row)) == "k2")
    }

    @Test func aRetiredKeyIsReportedByID() throws {
        let old = try KeyRing(parsing: "k1:\(Self.keyA)")
        let sealed = try old.seal("token", context: row)
        let newOnly = try KeyRing(parsing: "k2:\(Self.keyB)")
        #expect(throws: CryptoError.unknownKeyID("k1")) { try newOnly.open(sealed, context: row) }
    }

    @Test func aKeySwappedUnderTheSameIDFailsToOpen() throws {
        let sealed = try KeyRing(parsing: "k1:\(Self.keyA)").seal("token", context: row)
        let impostor = try KeyRing(parsing: "k1:\(Self.keyB)")
        #expect(throws: CryptoError.authenticationFailed) { try impostor.open(sealed, context: row) }
    }

    @Test func tamperedEnvelopesAreRefused() throws {
        let ring = try KeyRing(parsing: "k1:\(Self.keyA)")
        let sealed = try ring.seal("token", context: row)
        var parts = sealed.split(separator: ".").map(String.init)
        var body = Base64URL.decode(parts[3])!
        body[0] ^= 1
        parts[3] = Base64URL.encode(body)
        #expect(throws: CryptoError.authenticationFailed) { try ring.open(parts.joined(separator: "."), context: row) }
        #expect(throws: CryptoError.malformedSealedValue) { try ring.open("v1.k1.zz", context: row) }
        #expect(throws: CryptoError.malformedSealedValue) { try ring.open("plaintext-token", context: row) }
    }

    @Test(arguments: ["", "k1", "k1:short", "k 1:\(keyA)", "k1:\(keyA),k1:\(keyB)"])
    func badSpecificationsAreRefused(_ spec: String) {
        #expect(throws: CryptoError.self) { try KeyRing(parsing: spec) }
    }

    @Test func descriptionNamesKeyIDsOnly() throws {
        let ring = try KeyRing(parsing: "k1:\(Self.keyA)")
        #expect("\(ring)" == "KeyRing(keyIDs: [\"k1\"])")
    }
}
