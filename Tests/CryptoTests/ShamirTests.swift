import Crypto
import Testing

/// Shamir's scheme over GF(2^8): known answers, round trips for every threshold, and refusals.
@Suite struct ShamirTests {
    @Test func thePolynomialOfTheKnownAnswerGivesItsShares() throws {
        // 0x2a + x + 2x² at x = 1, 2, 3.
        let polynomial: [UInt8] = [0x2a, 0x01, 0x02]
        #expect([1, 2, 3].map { Shamir.evaluate(polynomial, at: $0) } == [0x29, 0x20, 0x23])
        let shares = [
            Shamir.Share(x: 1, y: [0x29]), Shamir.Share(x: 2, y: [0x20]), Shamir.Share(x: 3, y: [0x23]),
        ]
        #expect(try Shamir.combine(shares, threshold: 3) == [0x2a])
        #expect(try Shamir.combine(shares.reversed(), threshold: 3) == [0x2a])
    }

    @Test(arguments: [(2, 2), (2, 5), (3, 5), (5, 9), (10, 20)])
    func anyThresholdOfSharesGivesTheSecretBack(threshold: Int, count: Int) throws {
        let secret = try SecureRandom.bytes(32)
        let shares = try Shamir.split(secret, threshold: threshold, count: count)
        #expect(shares.count == count && Set(shares.map(\.x)).count == count && !shares.contains { $0.x == 0 })
        #expect(try Shamir.combine(Array(shares.suffix(threshold)), threshold: threshold) == secret)
        #expect(try Shamir.combine(shares.shuffled(), threshold: threshold) == secret)
        // One share fewer, pretending the threshold were lower, gives something else.
        if threshold > 2 {
            #expect(try Shamir.combine(Array(shares.prefix(threshold - 1)), threshold: threshold - 1) != secret)
        }
    }

    @Test func aCorruptedShareGivesAWrongSecretSilently() throws {
        let secret = try SecureRandom.bytes(32)
        var shares = try Shamir.split(secret, threshold: 3, count: 5)
        shares[1] = Shamir.Share(x: shares[1].x, y: shares[1].y.map { $0 ^ 0x01 })
        #expect(try Shamir.combine(Array(shares.prefix(3)), threshold: 3) != secret)
    }

    @Test func badInputIsRefused() throws {
        let shares = try Shamir.split(try SecureRandom.bytes(16), threshold: 3, count: 5)
        #expect(throws: Shamir.Problem.tooFewShares) { try Shamir.combine(Array(shares.prefix(2)), threshold: 3) }
        #expect(throws: Shamir.Problem.duplicateX) {
            try Shamir.combine([shares[0], shares[0], shares[1]], threshold: 3)
        }
        #expect(throws: Shamir.Problem.unequalLengths) {
            try Shamir.combine([shares[0], shares[1], Shamir.Share(x: shares[2].x, y: [1, 2])], threshold: 3)
        }
        #expect(throws: Shamir.Problem.invalidParameters) { try Shamir.split([1], threshold: 1, count: 3) }
        #expect(throws: Shamir.Problem.invalidParameters) { try Shamir.split([1], threshold: 4, count: 3) }
        #expect(throws: Shamir.Problem.invalidParameters) { try Shamir.split([1], threshold: 2, count: 256) }
    }

    @Test func aShareReadsBackFromItsText() throws {
        let share = Shamir.Share(x: 0xa7, y: [0, 1, 0xff])
        #expect(share.text == "v1-a7-0001ff")
        #expect(Shamir.Share(text: " v1-a7-0001ff\n") == share)
        #expect(Shamir.Share(text: "v1-00-0001ff") == nil && Shamir.Share(text: "v2-a7-00") == nil)
        #expect(Shamir.Share(text: "v1-a7-zz") == nil)
    }
}
