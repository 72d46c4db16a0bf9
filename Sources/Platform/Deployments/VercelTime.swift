#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Vercel's times are milliseconds since 1970. One from outside is believed only between 2015 and
/// 2100: anything else can never be a real deployment's time, and arithmetic on it must not trap.
public enum VercelTime {
    public static let plausible: ClosedRange<Int64> = 1_420_070_400_000...4_102_444_800_000

    /// The instant `milliseconds` names; nil when it is not plausible.
    public static func date(milliseconds: Int64) -> Date? {
        guard plausible.contains(milliseconds) else { return nil }
        return Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }
}
