/// One change in the level of a series, found with E-divisive means (Matteson & James, 2014): the
/// split that maximizes the energy distance between the two sides, kept only when a permutation
/// test says so. It adapts to the series' own noise: a shift must stand out against what shuffling
/// the same values produces, so a noisy series needs a larger shift than a quiet one.
public enum ChangePoint {
    public struct Found: Sendable, Equatable {
        /// The first index of the new level.
        public let index: Int
        /// The permutation test's p-value.
        public let pValue: Double
        public let medianBefore: Double
        public let medianAfter: Double
    }

    /// The most significant change in `series`, or nil when none is significant at `alpha`.
    /// - Parameters:
    ///   - minimumSegment: the fewest points on either side of a change.
    ///   - permutations: shuffles for the test; a fixed `seed` makes the answer repeatable.
    public static func detect(
        _ series: [Double], minimumSegment: Int = 5, permutations: Int = 199, alpha: Double = 0.05,
        seed: UInt64 = 0x5EED
    ) -> Found? {
        let n = series.count
        guard n >= 2 * minimumSegment else { return nil }
        let (index, statistic) = bestSplit(series, minimumSegment: minimumSegment)
        guard statistic > 0 else { return nil }
        var generator = SplitMix64(seed: seed)
        var shuffled = series
        var atLeast = 0
        for _ in 0..<permutations {
            // Fisher–Yates with the seeded generator.
            for i in stride(from: n - 1, to: 0, by: -1) {
                shuffled.swapAt(i, Int(generator.next() % UInt64(i + 1)))
            }
            if bestSplit(shuffled, minimumSegment: minimumSegment).statistic >= statistic { atLeast += 1 }
        }
        let pValue = Double(atLeast + 1) / Double(permutations + 1)
        guard pValue <= alpha else { return nil }
        return Found(
            index: index, pValue: pValue, medianBefore: median(Array(series[..<index])),
            medianAfter: median(Array(series[index...])))
    }

    /// The split maximizing the scaled energy statistic
    /// Q(τ) = τ(n−τ)/n · [2/(τ(n−τ)) Σ|x−y| − 2/(τ(τ−1)) Σ|x−x'| − 2/((n−τ)(n−τ−1)) Σ|y−y'|],
    /// computed for every τ in O(n²) by moving one point across at a time.
    static func bestSplit(_ x: [Double], minimumSegment: Int) -> (index: Int, statistic: Double) {
        let n = x.count
        // Sums of distances: within the left part, within the right part, between them.
        var within = [0.0, 0.0]
        var between = 0.0
        var rowTotal = [Double](repeating: 0, count: n)
        for i in 0..<n {
            for j in 0..<n where j != i { rowTotal[i] += abs(x[i] - x[j]) }
        }
        // Start with the left part empty.
        within[1] = rowTotal.reduce(0, +) / 2
        var best = (index: 0, statistic: -Double.infinity)
        for tau in 1..<n {
            // Move x[tau-1] from the right part to the left.
            let moved = tau - 1
            var toLeft = 0.0
            for i in 0..<moved { toLeft += abs(x[i] - x[moved]) }
            let toRight = rowTotal[moved] - toLeft
            within[0] += toLeft
            within[1] -= toRight
            between += toRight - toLeft
            let left = Double(tau)
            let right = Double(n - tau)
            guard tau >= minimumSegment, n - tau >= minimumSegment else { continue }
            let energy =
                2 * between / (left * right) - 2 * within[0] / (left * (left - 1)) - 2 * within[1]
                / (right * (right - 1))
            let statistic = left * right / Double(n) * energy
            if statistic > best.statistic { best = (tau, statistic) }
        }
        return best
    }

    public static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}

/// A small, seeded generator, so a permutation test gives the same answer for the same series.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
