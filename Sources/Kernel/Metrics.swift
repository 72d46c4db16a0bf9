import Synchronization

/// One metric family: its name (with the `sheen_vercel_` prefix and base units), type, label names
/// and help. Every family any program records or serves is declared once, in `MetricFamily.catalog`,
/// which also writes the README's metrics table. No family has a label named `job` or `instance`:
/// those are the labels Prometheus gives each target, and a series carrying its own would be
/// stored as `exported_job`.
public struct MetricFamily: Sendable, Hashable {
    public enum Kind: String, Sendable { case counter, gauge, histogram }

    /// Who serves a family.
    public enum Scope: String, Sendable {
        /// Each function's own `/metrics`: what that process saw (its `group` label says which).
        case process
        /// `/metrics/host`, once per host: what the shared database holds, what the one-shot jobs
        /// recorded there (`group="jobs"`), and what nginx refused on this host. Every host serves
        /// the same database figures, so a query across hosts takes their `max`, not their `sum`.
        case host
        /// Both: each function's, and the jobs' (through the database).
        case processAndJobs
    }

    public let name: String
    public let kind: Kind
    public let labels: [String]
    public let help: String
    public let scope: Scope
    /// A histogram's upper bounds.
    public let buckets: [Double]

    public init(
        _ name: String, _ kind: Kind, labels: [String] = [], scope: Scope = .process, buckets: [Double] = [],
        _ help: String
    ) {
        precondition(!labels.contains("job") && !labels.contains("instance"), "\(name): a target label")
        precondition(kind != .histogram || !buckets.isEmpty, "\(name): a histogram needs buckets")
        self.name = name
        self.kind = kind
        self.labels = labels
        self.help = help
        self.scope = scope
        self.buckets = buckets
    }

    // A family is its name (the catalogue's are unique): what each record hashes, not its help.
    public static func == (left: MetricFamily, right: MetricFamily) -> Bool { left.name == right.name }
    public func hash(into hasher: inout Hasher) { hasher.combine(name) }
}

/// The process's Prometheus metrics: counters, gauges and histograms of the families in
/// `MetricFamily.catalog`, which the worker threads record into under one lock, rendered in the
/// text exposition format 0.0.4. Label values are escaped as the format requires.
public final class Metrics: Sendable {
    /// The metrics of this process.
    public static let shared = Metrics()

    /// Request durations, in seconds: from 5 ms to a minute (log streams run long).
    public static let durationBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

    private struct Key: Hashable {
        let family: MetricFamily
        let values: [String]
    }

    private struct Histogram {
        var counts: [UInt64]
        var sum: Double = 0
        var count: UInt64 = 0
    }

    private struct State {
        /// Each counter's and gauge's value.
        var values: [Key: Double] = [:]
        var histograms: [Key: Histogram] = [:]
        var constantLabels: [String] = []
    }

    private let state = Mutex(State())

    public init() {}

    /// A label every series this process records carries (`group`).
    public func setConstantLabel(_ name: String, _ value: String) {
        let encoded = Self.encoded([name], [value])
        state.withLock {
            $0.constantLabels.removeAll { $0.hasPrefix(name + "=") }
            $0.constantLabels += encoded
        }
    }

    /// Adds `amount` to a counter; `values` are its labels' values, in the family's order.
    public func increment(_ family: MetricFamily, _ values: [String] = [], by amount: Double = 1) {
        let key = Self.key(family, values, .counter)
        state.withLock { $0.values[key, default: 0] += amount }
    }

    /// Sets a gauge.
    public func set(_ family: MetricFamily, _ values: [String] = [], _ value: Double) {
        let key = Self.key(family, values, .gauge)
        state.withLock { $0.values[key] = value }
    }

    public func observe(_ family: MetricFamily, _ values: [String] = [], _ value: Double) {
        let key = Self.key(family, values, .histogram)
        state.withLock { state in
            var histogram =
                state.histograms[key] ?? Histogram(counts: Array(repeating: 0, count: family.buckets.count))
            for index in family.buckets.indices where value <= family.buckets[index] {
                histogram.counts[index] += 1
            }
            histogram.sum += value
            histogram.count += 1
            state.histograms[key] = histogram
        }
    }

    /// A counter's or gauge's value now (0 if never recorded).
    public func value(_ family: MetricFamily, _ values: [String] = []) -> Double {
        state.withLock { $0.values[Key(family: family, values: values)] ?? 0 }
    }

    /// How many observations a histogram's series has.
    public func count(_ family: MetricFamily, _ values: [String] = []) -> UInt64 {
        state.withLock { $0.histograms[Key(family: family, values: values)]?.count ?? 0 }
    }

    private static func key(_ family: MetricFamily, _ values: [String], _ kind: MetricFamily.Kind) -> Key {
        precondition(family.kind == kind, "\(family.name) is a \(family.kind.rawValue)")
        precondition(values.count == family.labels.count, "\(family.name) has labels \(family.labels)")
        return Key(family: family, values: values)
    }

    /// One sample of a series: its name (the family's, or a histogram's `_bucket`, `_sum`,
    /// `_count`), its labels as they are written (`a="b"`, escaped), and its value.
    public struct Sample: Sendable, Equatable {
        public let family: String
        public let name: String
        public let labels: [String]
        public let value: Double

        public init(family: String, name: String, labels: [String], value: Double) {
            self.family = family
            self.name = name
            self.labels = labels
            self.value = value
        }
    }

    /// Every counter's and histogram's samples (not gauges, which say nothing once the process
    /// ends), without the constant labels: what a one-shot job leaves in the database.
    public func cumulativeSamples() -> [Sample] {
        let snapshot = state.withLock { $0 }
        var samples: [Sample] = []
        for (key, value) in snapshot.values where key.family.kind == .counter {
            samples.append(
                .init(
                    family: key.family.name, name: key.family.name,
                    labels: Self.encoded(key.family.labels, key.values), value: value))
        }
        for (key, histogram) in snapshot.histograms {
            samples += Self.histogramSamples(key.family, Self.encoded(key.family.labels, key.values), histogram)
        }
        return samples
    }

    private static func histogramSamples(
        _ family: MetricFamily, _ labels: [String], _ histogram: Histogram
    )
        -> [Sample]
    {
        let name = family.name
        var samples: [Sample] = []
        for (bound, count) in zip(family.buckets, histogram.counts) {
            samples.append(
                .init(
                    family: name, name: name + "_bucket", labels: labels + ["le=\"\(number(bound))\""],
                    value: Double(count)))
        }
        samples.append(
            .init(
                family: name, name: name + "_bucket", labels: labels + ["le=\"+Inf\""], value: Double(histogram.count)))
        samples.append(.init(family: name, name: name + "_sum", labels: labels, value: histogram.sum))
        samples.append(.init(family: name, name: name + "_count", labels: labels, value: Double(histogram.count)))
        return samples
    }

    /// Samples measured when the metrics are read (from the database, say).
    public struct Reading: Sendable {
        public let family: MetricFamily
        public let samples: [Sample]

        /// Samples of a counter or gauge, one per list of label values.
        public init(_ family: MetricFamily, _ values: [([String], Double)]) {
            precondition(family.kind != .histogram)
            self.family = family
            self.samples = values.map {
                precondition($0.0.count == family.labels.count, "\(family.name) has labels \(family.labels)")
                return Sample(
                    family: family.name, name: family.name, labels: Metrics.encoded(family.labels, $0.0), value: $0.1)
            }
        }

        /// Samples already written (what the jobs left in the database).
        public init(_ family: MetricFamily, samples: [Sample]) {
            self.family = family
            self.samples = samples
        }
    }

    /// What this process recorded (with its constant labels), then `readings` (with
    /// `readingLabels` in their place), as the text format. Each family is written once, with its
    /// help and type, whichever of the two its samples came from.
    ///
    /// Every family of `declaring` is written too, with no samples when none were recorded, so
    /// what a process can serve is all on its page from the start.
    public func render(
        _ readings: [Reading] = [], readingLabels: [String: String]? = nil, declaring: [MetricFamily] = []
    ) -> String {
        let snapshot = state.withLock { $0 }
        let constants = snapshot.constantLabels
        let readingConstants = readingLabels.map { labels in
            labels.keys.sorted().flatMap { Self.encoded([$0], [labels[$0]!]) }
        }
        var grouped: [String: (family: MetricFamily, lines: [String])] = [:]
        func add(_ family: MetricFamily, _ sample: Sample, _ prefix: [String]) {
            let labels = prefix + sample.labels
            let series = labels.isEmpty ? sample.name : "\(sample.name){\(labels.joined(separator: ","))}"
            grouped[family.name, default: (family, [])].lines.append("\(series) \(Self.number(sample.value))")
        }
        for (key, value) in snapshot.values.sorted(by: { Self.precedes($0.key, $1.key) }) {
            add(
                key.family,
                Sample(
                    family: key.family.name, name: key.family.name,
                    labels: Self.encoded(key.family.labels, key.values), value: value), constants)
        }
        for (key, histogram) in snapshot.histograms.sorted(by: { Self.precedes($0.key, $1.key) }) {
            for sample in Self.histogramSamples(key.family, Self.encoded(key.family.labels, key.values), histogram) {
                add(key.family, sample, constants)
            }
        }
        for reading in readings {
            if grouped[reading.family.name] == nil { grouped[reading.family.name] = (reading.family, []) }
            for sample in reading.samples { add(reading.family, sample, readingConstants ?? constants) }
        }
        for family in declaring where grouped[family.name] == nil { grouped[family.name] = (family, []) }
        var lines: [String] = []
        for name in grouped.keys.sorted() {
            let (family, series) = grouped[name]!
            lines.append("# HELP \(family.name) \(family.help)")
            lines.append("# TYPE \(family.name) \(family.kind.rawValue)")
            lines += series
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func precedes(_ left: Key, _ right: Key) -> Bool {
        left.family.name != right.family.name
            ? left.family.name < right.family.name : left.values.lexicographicallyPrecedes(right.values)
    }

    /// A value as the format writes it: integers without a fraction.
    static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    /// `name="value"` for each pair, with `\`, `"` and newlines escaped.
    public static func encoded(_ names: [String], _ values: [String]) -> [String] {
        zip(names, values).map { name, value in
            var escaped = ""
            for character in value {
                switch character {
                case "\\": escaped += "\\\\"
                case "\"": escaped += "\\\""
                case "\n": escaped += "\\n"
                default: escaped.append(character)
                }
            }
            return "\(name)=\"\(escaped)\""
        }
    }
}
