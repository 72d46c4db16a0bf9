import Synchronization

/// The process's Prometheus metrics: counters and histograms that the worker threads record into
/// under one lock, rendered in the text exposition format 0.0.4. Names carry the `sheen_vercel_`
/// prefix and base units; label values are escaped as the format requires.
public final class Metrics: Sendable {
    /// The metrics of this process.
    public static let shared = Metrics()

    /// Request durations, in seconds: from 5 ms to a minute (log streams run long).
    public static let durationBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

    public typealias Labels = [(String, String)]

    private struct Key: Hashable {
        let name: String
        let labels: [String]
    }

    private struct Histogram {
        var buckets: [Double]
        var counts: [UInt64]
        var sum: Double = 0
        var count: UInt64 = 0
    }

    private struct State {
        var help: [String: (type: String, text: String)] = [:]
        /// Each counter's and gauge's value.
        var counters: [Key: Double] = [:]
        var histograms: [Key: Histogram] = [:]
        var constantLabels: [String] = []
    }

    private let state = Mutex(State())

    public init() {}

    /// A label every series of this process carries (`group`).
    public func setConstantLabel(_ name: String, _ value: String) {
        let encoded = Self.encoded([(name, value)])[0]
        state.withLock {
            $0.constantLabels.removeAll { $0.hasPrefix(name + "=") }
            $0.constantLabels.append(encoded)
        }
    }

    /// Declares a family's type (`counter`, `gauge`, `histogram`) and help text.
    public func describe(_ name: String, type: String, _ text: String) {
        state.withLock { $0.help[name] = (type, text) }
    }

    public func increment(_ name: String, _ labels: Labels = [], by amount: Double = 1) {
        let key = Key(name: name, labels: Self.encoded(labels))
        state.withLock { $0.counters[key, default: 0] += amount }
    }

    /// Sets a gauge.
    public func set(_ name: String, _ labels: Labels = [], _ value: Double) {
        let key = Key(name: name, labels: Self.encoded(labels))
        state.withLock { $0.counters[key] = value }
    }

    public func observe(_ name: String, _ labels: Labels = [], _ value: Double, buckets: [Double] = durationBuckets) {
        let key = Key(name: name, labels: Self.encoded(labels))
        state.withLock { state in
            var histogram =
                state.histograms[key] ?? Histogram(buckets: buckets, counts: Array(repeating: 0, count: buckets.count))
            for index in histogram.buckets.indices where value <= histogram.buckets[index] {
                histogram.counts[index] += 1
            }
            histogram.sum += value
            histogram.count += 1
            state.histograms[key] = histogram
        }
    }

    /// A family whose samples are measured when the metrics are read (from the database, say).
    public struct Family: Sendable {
        public let name: String
        public let type: String
        public let help: String
        public let samples: [(labels: Labels, value: Double)]

        public init(name: String, type: String, help: String, samples: [(labels: Labels, value: Double)]) {
            self.name = name
            self.type = type
            self.help = help
            self.samples = samples
        }
    }

    /// Everything recorded, and `families`, as the text format.
    public func render(families: [Family] = []) -> String {
        let snapshot = state.withLock { $0 }
        let (help, counters, histograms) = (snapshot.help, snapshot.counters, snapshot.histograms)
        let constantText = snapshot.constantLabels
        func series(_ name: String, _ labels: [String], _ extra: [String] = []) -> String {
            let all = constantText + labels + extra
            return all.isEmpty ? name : "\(name){\(all.joined(separator: ","))}"
        }
        func value(_ number: Double) -> String {
            if number == number.rounded(), abs(number) < 1e15 { return String(Int64(number)) }
            return String(number)
        }
        var lines: [String] = []
        func header(_ name: String, _ fallbackType: String) {
            let (type, text) = help[name] ?? (fallbackType, name)
            lines.append("# HELP \(name) \(text)")
            lines.append("# TYPE \(name) \(type)")
        }
        for name in Set(counters.keys.map(\.name)).sorted() {
            header(name, "counter")
            for (key, count) in counters.filter({ $0.key.name == name }).sorted(by: {
                $0.key.labels.lexicographicallyPrecedes($1.key.labels)
            }) {
                lines.append("\(series(name, key.labels)) \(value(count))")
            }
        }
        for name in Set(histograms.keys.map(\.name)).sorted() {
            header(name, "histogram")
            for (key, histogram) in histograms.filter({ $0.key.name == name }).sorted(by: {
                $0.key.labels.lexicographicallyPrecedes($1.key.labels)
            }) {
                for (bound, count) in zip(histogram.buckets, histogram.counts) {
                    lines.append("\(series(name + "_bucket", key.labels, ["le=\"\(value(bound))\""])) \(count)")
                }
                lines.append("\(series(name + "_bucket", key.labels, ["le=\"+Inf\""])) \(histogram.count)")
                lines.append("\(series(name + "_sum", key.labels)) \(histogram.sum)")
                lines.append("\(series(name + "_count", key.labels)) \(histogram.count)")
            }
        }
        for family in families {
            lines.append("# HELP \(family.name) \(family.help)")
            lines.append("# TYPE \(family.name) \(family.type)")
            for sample in family.samples {
                lines.append("\(series(family.name, Self.encoded(sample.labels))) \(value(sample.value))")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `name="value"` with `\`, `"` and newlines escaped.
    static func encoded(_ labels: Labels) -> [String] {
        labels.map { name, value in
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
