#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Vercel's times are milliseconds since 1970.
enum VercelTime {
    static func date(milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }
}
