import Foundation
import Kernel
import PlatformHost
import Testing

/// The periods the host's metrics serve (`sheen_vercel_job_period_seconds`, which the alert on a
/// job that stopped succeeding reads) are cron's schedule, job for job.
@Suite struct JobScheduleTests {
    /// The period of a cron schedule of the forms the file uses.
    static func period(_ minute: Substring, _ hour: Substring, _ day: Substring) -> Int? {
        switch (minute, hour, day) {
        case ("*", "*", "*"): 60
        case (let step, "*", "*") where step.hasPrefix("*/"): Int(step.dropFirst(2)).map { $0 * 60 }
        case (_, _, "*") where Int(minute) != nil && Int(hour) != nil: 86_400
        case (_, _, _) where Int(minute) != nil && Int(hour) != nil && Int(day) != nil: 31 * 86_400
        default: nil
        }
    }

    @Test func thePeriodsAreCronsSchedule() throws {
        let cron = try String(
            contentsOf: ReadmeTablesTests.root.appendingPathComponent("deploy/cron/sheen-vercel"), encoding: .utf8)
        var scheduled: [String: Int] = [:]
        for line in cron.split(separator: "\n") where !line.hasPrefix("#") && line.contains("sheen-vercel-job ") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            let job = String(fields.last!)
            let period = Self.period(fields[0], fields[1], fields[2])
            #expect(period != nil, "\(line)")
            scheduled[job] = period
        }
        #expect(scheduled.count == 12)
        #expect(scheduled == Dictionary(uniqueKeysWithValues: JobSchedule.periods.map { ($0.job, $0.seconds) }))
    }
}

/// The catalogue names each family once: a family is known by its name.
@Suite struct MetricCatalogTests {
    @Test func everyFamilyHasItsOwnName() {
        #expect(Set(MetricFamily.catalog.map(\.name)).count == MetricFamily.catalog.count)
    }
}
