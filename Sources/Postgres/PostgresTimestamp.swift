import Kernel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Text form of `timestamptz` as this library's connections print it (ISO DateStyle, UTC zone).
enum PostgresTimestamp {
    /// The instants written as dates: the years 0001 to 9999, which `parse` reads back.
    static let representable = ISO8601.representable

    /// `2026-11-25T06:01:11.123456Z`; `infinity` or `-infinity` past the years 0001 to 9999 (and
    /// for a NaN), so no value from outside can make the conversion trap.
    static func format(_ date: Date) -> String {
        ISO8601.format(date, fractionDigits: 6, rounding: .toNearestOrAwayFromZero)
    }

    /// Parses `2026-11-25 06:01:11.123456+00` (also `T`, `Z`, and `+hh:mm` offsets).
    static func parse(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 19 else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            guard bytes[range].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            return bytes[range].reduce(0) { $0 * 10 + Int($1 - 0x30) }
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var index = 19
        var fraction = 0.0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            var scale = 0.1
            index += 1
            while index < bytes.count, (0x30...0x39).contains(bytes[index]) {
                fraction += Double(bytes[index] - 0x30) * scale
                scale /= 10
                index += 1
            }
        }
        var offsetSeconds = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
            let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            let rest = bytes[(index + 1)...].filter { $0 != UInt8(ascii: ":") }
            let digits = rest.map { Int($0) - 0x30 }
            guard digits.count >= 2, digits.allSatisfy({ (0...9).contains($0) }) else { return nil }
            let hours = digits[0] * 10 + digits[1]
            let minutes = digits.count >= 4 ? digits[2] * 10 + digits[3] : 0
            offsetSeconds = sign * (hours * 3600 + minutes * 60)
        }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let seconds = timegm(&parts)
        return Date(timeIntervalSince1970: Double(seconds - offsetSeconds) + fraction)
    }
}
