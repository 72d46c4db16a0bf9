import Foundation

/// Text form of `timestamptz` as this library's connections print it (ISO DateStyle, UTC zone).
enum PostgresTimestamp {
    static func format(_ date: Date) -> String {
        let micros = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
        let seconds = Int(micros.quotientAndRemainder(dividingBy: 1_000_000).quotient)
        var fraction = Int(micros.quotientAndRemainder(dividingBy: 1_000_000).remainder)
        var whole = seconds
        if fraction < 0 {
            fraction += 1_000_000
            whole -= 1
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: Date(timeIntervalSince1970: TimeInterval(whole)))
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!, fraction)
    }

    /// Parses `2026-11-25 06:01:11.123456+00` (also `T`, `Z`, and `+hh:mm` offsets).
    static func parse(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 19 else { return nil }
        func number(_ range: Range<Int>) -> Int? { Int(String(decoding: bytes[range], as: UTF8.self)) }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19)
        else { return nil }
        var index = 19
        var fraction = 0.0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            let start = index
            index += 1
            while index < bytes.count, (0x30...0x39).contains(bytes[index]) { index += 1 }
            fraction = Double(String(decoding: bytes[start..<index], as: UTF8.self)) ?? 0
        }
        var offsetSeconds = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
            let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            let rest = String(decoding: bytes[(index + 1)...], as: UTF8.self).split(separator: ":")
            let hours = Int(rest.first?.prefix(2) ?? "0") ?? 0
            let minutes = rest.count > 1 ? Int(rest[1]) ?? 0 : 0
            offsetSeconds = sign * (hours * 3600 + minutes * 60)
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard let base = calendar.date(from: DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second))
        else { return nil }
        return base.addingTimeInterval(fraction - Double(offsetSeconds))
    }
}
