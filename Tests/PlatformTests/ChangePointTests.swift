import Platform
import PlatformHost
import Testing

/// E-divisive means on synthetic build times: a planted shift is found where it was planted, noise
/// alone (or one slow outlier) is not a change.
@Suite struct ChangePointTests {
    /// `count` points around `level`, with deterministic noise of ±`spread`.
    static func noisy(_ count: Int, level: Double, spread: Double, seed: UInt64) -> [Double] {
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { _ in level + (Double(generator.next() % 2001) / 1000 - 1) * spread }
    }

    @Test(arguments: [UInt64(1), 2, 3, 4, 5])
    func aPlantedShiftIsFoundWhereItWasPlanted(seed: UInt64) throws {
        let series =
            Self.noisy(30, level: 60_000, spread: 6_000, seed: seed)
            + Self.noisy(25, level: 80_000, spread: 6_000, seed: seed &+ 100)
        let found = try #require(ChangePoint.detect(series))
        #expect(abs(found.index - 30) <= 1, "found at \(found.index)")
        #expect(found.pValue <= 0.05)
        #expect(found.medianAfter - found.medianBefore > 15_000)
    }

    @Test(arguments: [UInt64(11), 12, 13, 14, 15])
    func noiseAloneIsNoChange(seed: UInt64) {
        #expect(ChangePoint.detect(Self.noisy(60, level: 60_000, spread: 15_000, seed: seed)) == nil)
    }

    @Test func oneSlowBuildIsNoChange() {
        var series = Self.noisy(50, level: 60_000, spread: 5_000, seed: 42)
        series[25] = 300_000
        #expect(ChangePoint.detect(series) == nil)
    }

    @Test func theSameShiftHidesInMoreNoise() {
        // A 10-second shift stands out of ±2 s of noise, not out of ±40 s.
        let quiet =
            Self.noisy(30, level: 60_000, spread: 2_000, seed: 7)
            + Self.noisy(30, level: 70_000, spread: 2_000, seed: 8)
        let loud =
            Self.noisy(30, level: 60_000, spread: 40_000, seed: 7)
            + Self.noisy(30, level: 70_000, spread: 40_000, seed: 8)
        #expect(ChangePoint.detect(quiet) != nil)
        #expect(ChangePoint.detect(loud) == nil)
    }

    @Test func tooShortASeriesHasNoChange() {
        #expect(ChangePoint.detect([1, 2, 3, 100, 100, 100]) == nil)
        #expect(ChangePoint.median([3, 1, 2]) == 2 && ChangePoint.median([4, 1, 2, 3]) == 2.5)
    }
}
