#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// ISO 8601 timestamps in UTC, as the API and the logs write them (milliseconds) and as Postgres
/// reads them (microseconds).
public enum ISO8601 {
    /// The instants written as dates: the years 0001 to 9999.
    public static let representable = -62_135_596_800.0..<253_402_300_800.0

    /// `2026-11-25T14:31:25.235Z`, with `fractionDigits` (3 or 6) after the seconds, rounded as
    /// `rounding` says. An instant past the years 0001 to 9999 (or a NaN) is written `infinity` or
    /// `-infinity` rather than trap.
    public static func format(
        _ date: Date, fractionDigits: Int = 3, rounding: FloatingPointRoundingRule = .down
    ) -> String {
        let since1970 = date.timeIntervalSince1970
        guard representable.contains(since1970) else {
            return since1970 < 0 ? "-infinity" : "infinity"
        }
        let scale: Int64 = fractionDigits == 6 ? 1_000_000 : 1000
        let units = Int64((since1970 * Double(scale)).rounded(rounding))
        var (seconds, fraction) = units.quotientAndRemainder(dividingBy: scale)
        if fraction < 0 {
            fraction += scale
            seconds -= 1
        }
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        return "\(pad(Int(parts.tm_year) + 1900, 4))-\(pad(Int(parts.tm_mon) + 1, 2))-\(pad(Int(parts.tm_mday), 2))T"
            + "\(pad(Int(parts.tm_hour), 2)):\(pad(Int(parts.tm_min), 2)):\(pad(Int(parts.tm_sec), 2))."
            + "\(pad(Int(fraction), fractionDigits == 6 ? 6 : 3))Z"
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
}
