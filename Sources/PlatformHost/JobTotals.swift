import Kernel
import Postgres

/// What a one-shot job counted (its outbound calls, token refreshes, builds that ended), kept in
/// `vercel_metric_totals` when the run ends, since its process is gone before any scrape: each
/// series is added to its row. The host's `/metrics/host` serves the totals as `group="jobs"`.
enum JobTotals {
    /// Adds this process's counters and histograms to the stored totals, in one statement.
    static func flush(_ metrics: Metrics, _ database: PostgresConnection) throws {
        let samples = metrics.cumulativeSamples().filter { $0.value != 0 }
        guard !samples.isEmpty else { return }
        try database.execute(
            """
            INSERT INTO vercel_metric_totals (family, name, labels, value)
            SELECT * FROM unnest(\(samples.map(\.family))::text[], \(samples.map(\.name))::text[],
                                 \(samples.map { $0.labels.joined(separator: ",") })::text[], \(samples.map { String($0.value) })::float8[])
            ON CONFLICT (name, labels) DO UPDATE SET value = vercel_metric_totals.value + excluded.value, updated_at = now()
            """)
    }

    /// The stored totals of every family this release knows, as `group="jobs"`.
    static func readings(_ database: PostgresConnection) throws -> [Metrics.Reading] {
        var samples: [String: [Metrics.Sample]] = [:]
        for row in try database.query(
            "SELECT family, name, labels, value FROM vercel_metric_totals ORDER BY family, name, labels LIMIT 20000")
        {
            let family: String = try row.decode("family")
            let labels: String = try row.decode("labels")
            samples[family, default: []].append(
                .init(
                    family: family, name: try row.decode("name"),
                    labels: ["group=\"jobs\""] + (labels.isEmpty ? [] : [labels]), value: try row.decode("value")))
        }
        return MetricFamily.catalog.compactMap { family in
            samples[family.name].map { Metrics.Reading(family, samples: $0) }
        }
    }
}
