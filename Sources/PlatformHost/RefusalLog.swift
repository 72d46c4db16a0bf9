import Kernel
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Counts the requests nginx answered itself (its `/_errors/` pages: malformed, refused by an
/// allow-list, too large, too many, no function answering), from the JSON lines nginx writes for
/// each of them (`{"status":429,…}`, `deploy/nginx/sheen-vercel.conf`). Each read goes on from
/// where the last stopped, at most `readLimit` bytes, so a flood costs a scrape a bounded read; a
/// file that was rotated (another inode, or shorter than what was read) is counted from its start
/// as a new count.
final class RefusalLog: Sendable {
    static let shared = RefusalLog()
    static let readLimit = 32 << 20

    private struct Position {
        var path = ""
        var device: UInt64 = 0
        var inode: UInt64 = 0
        var offset: Int64 = 0
        var partial: [UInt8] = []
        var counts: [Int: Int] = [:]
    }

    private let position = Mutex(Position())

    /// Refusals by status in the log at `path`, so far; nil when it cannot be read.
    func counts(path: String) -> [Int: Int]? {
        position.withLock { position -> [Int: Int]? in
            let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
            guard descriptor >= 0 else { return nil }
            defer { close(descriptor) }
            var info = stat()
            guard fstat(descriptor, &info) == 0 else { return nil }
            if position.path != path || position.device != UInt64(info.st_dev) || position.inode != UInt64(info.st_ino)
                || Int64(info.st_size) < position.offset
            {
                position = Position(
                    path: path, device: UInt64(info.st_dev), inode: UInt64(info.st_ino), offset: 0, partial: [],
                    counts: [:])
            }
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            var read = 0
            while read < Self.readLimit {
                let got = buffer.withUnsafeMutableBytes {
                    pread(descriptor, $0.baseAddress, $0.count, off_t(position.offset))
                }
                guard got > 0 else { break }
                position.offset += Int64(got)
                read += got
                var start = 0
                for index in 0..<got where buffer[index] == 0x0a {
                    let line = position.partial + buffer[start..<index]
                    position.partial = []
                    if let status = Self.status(line) { position.counts[status, default: 0] += 1 }
                    start = index + 1
                }
                // A line longer than any nginx writes is dropped rather than held.
                position.partial += buffer[start..<got]
                if position.partial.count > 8192 { position.partial = [] }
            }
            return position.counts
        }
    }

    /// The status of a line that begins `{"status":NNN`.
    static func status(_ line: [UInt8]) -> Int? {
        let prefix = Array(#"{"status":"#.utf8)
        guard line.count >= prefix.count + 3, Array(line[0..<prefix.count]) == prefix else { return nil }
        let digits = line[prefix.count..<prefix.count + 3]
        guard digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
    }
}
