#if canImport(Glibc)
import Glibc
#endif

/// The process's own figures under the names every Prometheus client library gives them
/// (`process_*`), read from `/proc/self` when the metrics are read.
public enum ProcessMetrics {
    public static func readings() -> [Metrics.Reading] {
        var readings: [Metrics.Reading] = []
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let page = Double(sysconf(Int32(_SC_PAGESIZE)))
        if let stat = read("/proc/self/stat"), let close = stat.lastIndex(of: ")") {
            // After the command's closing parenthesis: field 3 (state) onwards.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            func field(_ number: Int) -> Double? { fields.count > number - 3 ? Double(fields[number - 3]) : nil }
            if let user = field(14), let system = field(15) {
                readings.append(.init(.processCPU, [([], (user + system) / ticks)]))
            }
            if let virtual = field(23) { readings.append(.init(.processVirtual, [([], virtual)])) }
            if let resident = field(24) { readings.append(.init(.processResident, [([], resident * page)])) }
            if let start = field(22), let boot = bootTime() {
                readings.append(.init(.processStart, [([], boot + start / ticks)]))
            }
        }
        if let open = openDescriptors() { readings.append(.init(.processOpenFDs, [([], Double(open))])) }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            readings.append(.init(.processMaxFDs, [([], Double(limit.rlim_cur))]))
        }
        return readings
    }

    /// When the machine booted (Unix time), from `/proc/stat`'s `btime`.
    static func bootTime() -> Double? {
        guard let stat = read("/proc/stat") else { return nil }
        for line in stat.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst("btime ".count))
        }
        return nil
    }

    static func openDescriptors() -> Int? {
        guard let directory = opendir("/proc/self/fd") else { return nil }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { count += 1 }
        }
        // Less the descriptor opendir itself holds.
        return max(count - 1, 0)
    }

    /// A small file of /proc, whole (at most 64 KiB).
    static func read(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 65536 {
            let got = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            guard got > 0 else { break }
            bytes += buffer[0..<got]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
