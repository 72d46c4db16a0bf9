import Crypto
import Foundation
import Testing

/// Shamir's scheme over GF(2^8): known answers, round trips for every threshold, and refusals.
@Suite struct ShamirTests {
    @Test func thePolynomialOfTheKnownAnswerGivesItsShares() throws {
        // 0x2a + x + 2x² at x = 1, 2, 3, in the AES field (v1).
        let polynomial: [UInt8] = [0x2a, 0x01, 0x02]
        #expect([1, 2, 3].map { Shamir.evaluate(polynomial, at: $0, in: .v1) } == [0x29, 0x20, 0x23])
        let shares = [
            Shamir.Share(x: 1, y: [0x29], field: .v1), Shamir.Share(x: 2, y: [0x20], field: .v1),
            Shamir.Share(x: 3, y: [0x23], field: .v1),
        ]
        #expect(try Shamir.combine(shares, threshold: 3) == [0x2a])
        #expect(try Shamir.combine(shares.reversed(), threshold: 3) == [0x2a])
        // The fields differ where a product overflows a byte: 0x80 · 2 reduces by 0x1b or by 0x1d.
        #expect(Shamir.evaluate([0, 0x80], at: 2, in: .v1) == 0x1b)
        #expect(Shamir.evaluate([0, 0x80], at: 2, in: .v2) == 0x1d)
        #expect(throws: Shamir.Problem.mixedFields) {
            try Shamir.combine([shares[0], Shamir.Share(x: 2, y: [0x20]), shares[2]], threshold: 3)
        }
    }

    @Test(arguments: [(2, 2), (2, 5), (3, 5), (5, 9), (10, 20)], Shamir.Field.allCases)
    func anyThresholdOfSharesGivesTheSecretBack(sizes: (threshold: Int, count: Int), field: Shamir.Field) throws {
        let (threshold, count) = sizes
        let secret = try SecureRandom.bytes(32)
        let shares = try Shamir.split(secret, threshold: threshold, count: count, field: field)
        #expect(shares.allSatisfy { $0.field == field })
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
        let share = Shamir.Share(x: 0xa7, y: [0, 1, 0xff], field: .v1)
        #expect(share.text == "v1-a7-0001ff")
        #expect(Shamir.Share(text: " v1-a7-0001ff\n") == share)
        #expect(Shamir.Share(text: "v2-a7-0001ff") == Shamir.Share(x: 0xa7, y: [0, 1, 0xff], field: .v2))
        #expect(Shamir.Share(text: "v1-00-0001ff") == nil && Shamir.Share(text: "v3-a7-00") == nil)
        #expect(Shamir.Share(text: "v1-a7-zz") == nil)
    }
}

/// The v2 shares against an independent implementation, Debian's libgfshare: shares `gfsplit`
/// makes are combined here, and shares made here are combined by `gfcombine`. A libgfshare share
/// is a file whose name ends in the x as three decimal digits and whose bytes are the share's y.
@Suite struct ShamirLibgfshareTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gfshare-\(UUID().uuidString)")

    init() throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    func run(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.currentDirectoryURL = folder
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(arguments)")
    }

    @Test func sharesFromGfsplitCombineHere() throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let secret = try SecureRandom.bytes(32)
        try Data(secret).write(to: URL(fileURLWithPath: path("secret")))
        try run(["gfsplit", "-n", "3", "-m", "5", path("secret"), path("share")])
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix("share.") }
        #expect(files.count == 5)
        let shares = try files.map { name in
            let x = try #require(UInt8(name.dropFirst("share.".count)))
            return Shamir.Share(x: x, y: Array(try Data(contentsOf: URL(fileURLWithPath: path(name))))).text
        }.compactMap(Shamir.Share.init(text:))
        #expect(shares.count == 5)
        #expect(try Shamir.combine(Array(shares.prefix(3)), threshold: 3) == secret)
        #expect(try Shamir.combine(Array(shares.suffix(3)), threshold: 3) == secret)
        #expect(try Shamir.combine(Array(shares.prefix(2)), threshold: 2) != secret)
    }

    @Test func sharesMadeHereCombineInGfcombine() throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let secret = try SecureRandom.bytes(32)
        let shares = try Shamir.split(secret, threshold: 3, count: 5)
        let names = try shares.map { share in
            let name = path("ours." + String(repeating: "0", count: 3 - String(share.x).count) + String(share.x))
            try Data(share.y).write(to: URL(fileURLWithPath: name))
            return name
        }
        try run(["gfcombine", "-o", path("three"), names[0], names[2], names[4]])
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: path("three")))) == secret)
        try run(["gfcombine", "-o", path("two"), names[1], names[3]])
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: path("two")))) != secret)
    }
}
