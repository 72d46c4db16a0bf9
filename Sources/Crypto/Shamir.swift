/// Shamir's secret sharing over GF(2^8): each byte of the secret is the constant term of its own
/// random polynomial of degree `threshold - 1`; a share is the polynomials' values at one nonzero x.
/// Any `threshold` shares give the secret back by Lagrange interpolation at 0; fewer give a value
/// that looks just as random, so whatever is combined must be checked against a key check value
/// before it is used.
///
/// Two fields, named by the share's version: `v2` (new splits) is libgfshare's field,
/// x^8 + x^4 + x^3 + x^2 + 1, so a share is interchangeable with Debian's `gfsplit`/`gfcombine`
/// (a libgfshare share file is the share's `y`, its name ends in the x as three digits); `v1` is the
/// AES field, x^8 + x^4 + x^3 + x + 1, of the shares split before, still combined.
public enum Shamir {
    /// The field a share's arithmetic is in, as its text's version names it.
    public enum Field: String, Sendable, CaseIterable {
        /// x^8 + x^4 + x^3 + x + 1 (0x11b), the AES field.
        case v1
        /// x^8 + x^4 + x^3 + x^2 + 1 (0x11d), libgfshare's field.
        case v2

        /// The low byte of the reduction polynomial.
        var reduction: UInt8 { self == .v1 ? 0x1b : 0x1d }
    }

    /// One share: its field, its x-coordinate and one byte per byte of the secret.
    public struct Share: Sendable, Equatable {
        public let field: Field
        public let x: UInt8
        public let y: [UInt8]

        public init(x: UInt8, y: [UInt8], field: Field = .v2) {
            self.field = field
            self.x = x
            self.y = y
        }
    }

    public enum Problem: Error, Equatable, Sendable {
        /// The threshold must be 2 to `count`, and `count` at most 255.
        case invalidParameters
        /// Fewer shares than the threshold the caller expects.
        case tooFewShares
        /// Two shares with one x-coordinate (or an x of 0, which would be the secret itself).
        case duplicateX
        /// Shares of different lengths cannot come from one split.
        case unequalLengths
        /// Shares of different fields (versions) cannot come from one split.
        case mixedFields
        case empty
    }

    /// Splits `secret` into `count` shares, any `threshold` of which recover it. The x-coordinates
    /// are the first `count` of a secure random permutation of 1...255.
    public static func split(
        _ secret: [UInt8], threshold: Int, count: Int, field: Field = .v2
    ) throws -> [Share] {
        guard !secret.isEmpty else { throw Problem.empty }
        guard (2...255).contains(threshold), (threshold...255).contains(count) else {
            throw Problem.invalidParameters
        }
        let xs = Array(try randomPermutation().prefix(count))
        // Coefficients 1...threshold-1 of every byte's polynomial, random.
        let coefficients = try SecureRandom.bytes(secret.count * (threshold - 1))
        return xs.map { x in
            Share(
                x: x,
                y: secret.indices.map { index in
                    var polynomial = [secret[index]]
                    polynomial += coefficients[(index * (threshold - 1))..<((index + 1) * (threshold - 1))]
                    return evaluate(polynomial, at: x, in: field)
                }, field: field)
        }
    }

    /// The secret the shares interpolate to at x = 0.
    /// - Parameter threshold: how many shares the split required; fewer are refused. Extra shares
    ///   beyond it are not used.
    public static func combine(_ shares: [Share], threshold: Int) throws(Problem) -> [UInt8] {
        guard threshold >= 2 else { throw .invalidParameters }
        guard shares.count >= threshold else { throw .tooFewShares }
        let used = Array(shares.prefix(threshold))
        let field = used[0].field
        guard used.allSatisfy({ $0.field == field }) else { throw .mixedFields }
        guard Set(used.map(\.x)).count == used.count, !used.contains(where: { $0.x == 0 }) else { throw .duplicateX }
        let length = used[0].y.count
        guard length > 0 else { throw .empty }
        guard used.allSatisfy({ $0.y.count == length }) else { throw .unequalLengths }
        // Lagrange basis at 0: l_i = Π_{j≠i} x_j / (x_j − x_i); in GF(2^8) subtraction is XOR.
        let basis = used.indices.map { i in
            used.indices.reduce(UInt8(1)) { product, j in
                j == i ? product : multiply(product, divide(used[j].x, used[j].x ^ used[i].x, field), field)
            }
        }
        return (0..<length).map { byte in
            used.indices.reduce(UInt8(0)) { sum, i in sum ^ multiply(basis[i], used[i].y[byte], field) }
        }
    }

    /// `polynomial` (constant term first) at `x`, by Horner's rule.
    public static func evaluate(_ polynomial: [UInt8], at x: UInt8, in field: Field = .v2) -> UInt8 {
        polynomial.reversed().reduce(UInt8(0)) { result, coefficient in multiply(result, x, field) ^ coefficient }
    }

    /// Multiplication in GF(2^8), without branches on the operands' values.
    static func multiply(_ a: UInt8, _ b: UInt8, _ field: Field) -> UInt8 {
        let reduction = field.reduction
        var a = a
        var b = b
        var product: UInt8 = 0
        for _ in 0..<8 {
            product ^= a & (0 &- (b & 1))
            let carry = a >> 7
            a = (a << 1) ^ (reduction & (0 &- carry))
            b >>= 1
        }
        return product
    }

    /// a / b for b ≠ 0: a · b^254 (b^255 = 1 in the multiplicative group).
    static func divide(_ a: UInt8, _ b: UInt8, _ field: Field) -> UInt8 {
        var inverse: UInt8 = 1
        var base = b
        var exponent = 254
        while exponent > 0 {
            if exponent & 1 == 1 { inverse = multiply(inverse, base, field) }
            base = multiply(base, base, field)
            exponent >>= 1
        }
        return multiply(a, inverse, field)
    }

    /// 1...255 in a uniformly random order (Fisher–Yates with rejection sampling).
    static func randomPermutation() throws -> [UInt8] {
        var values = (1...255).map { UInt8($0) }
        for i in stride(from: values.count - 1, to: 0, by: -1) {
            let bound = i + 1
            let limit = 256 - (256 % bound)
            var pick: Int
            repeat { pick = Int(try SecureRandom.bytes(1)[0]) } while pick >= limit
            values.swapAt(i, pick % bound)
        }
        return values
    }
}

extension Shamir.Share {
    /// `<version>-<x as two hex digits>-<hex of y>`: what `vercel-keyescrow split` prints and an
    /// admin pastes back.
    public var text: String { field.rawValue + "-" + Hex.encode([x]) + "-" + Hex.encode(y) }

    public init?(text: String) {
        let parts = text.trimmingCharacters().split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, let field = Shamir.Field(rawValue: parts[0]), let x = Hex.decode(parts[1]),
            x.count == 1, x[0] != 0, let y = Hex.decode(parts[2]), !y.isEmpty, y.count <= 64
        else { return nil }
        self.init(x: x[0], y: y, field: field)
    }
}

extension String {
    fileprivate func trimmingCharacters() -> String {
        String(drop(while: { $0 == " " || $0 == "\n" }).reversed().drop(while: { $0 == " " || $0 == "\n" }).reversed())
    }
}
