import Vercel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// The files of a platform project on disk, as a deployment from disk sends them: regular files
/// only (a symbolic link is never followed, so nothing outside the project can leak), without
/// what Vercel's CLI leaves out by default (dependencies, VCS folders, local env files), within
/// Vercel's file count and a total size.
public enum ProjectFiles {
    /// Why a project's files cannot be deployed.
    public enum Problem: Error, Equatable {
        case noFiles
        case tooManyFiles(limit: Int)
        case tooLarge(limitBytes: Int)
        case unreadable
    }

    public struct Limits: Sendable {
        public var maxFiles: Int
        public var maxTotalBytes: Int

        public init(maxFiles: Int = 15_000, maxTotalBytes: Int = 100 << 20) {
            self.maxFiles = maxFiles
            self.maxTotalBytes = maxTotalBytes
        }
    }

    /// Names skipped wherever they appear.
    static let ignoredNames: Set<String> = [
        ".git", ".hg", ".svn", ".gitmodules", "CVS", ".vercel", ".now", ".next", ".cache", ".DS_Store", "node_modules",
        "npm-debug.log", ".npmignore", ".dockerignore", ".env.local", "__pycache__", ".venv", "venv",
    ]

    /// Whether a file or folder called `name` stays out of a deployment.
    public static func isIgnored(_ name: String) -> Bool {
        if ignoredNames.contains(name) { return true }
        // Local env files hold the developer's secrets: `.env.local`, `.env.production.local`, ...
        return name.hasPrefix(".env.") && name.hasSuffix(".local") || name.hasSuffix(".swp") && name.hasPrefix(".")
    }

    /// Reads the files under `root`, paths relative to it with `/`, sorted.
    /// - Throws: `Problem.noFiles` when `root` is not a folder or holds no file, `tooManyFiles` and
    ///   `tooLarge` past the limits.
    public static func read(_ root: String, limits: Limits = Limits()) throws -> [DeploymentFile] {
        var files: [DeploymentFile] = []
        var total = 0
        var info = stat()
        guard lstat(root, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
            throw Problem.noFiles
        }
        try walk(root, relative: "") { path, relative, size in
            guard files.count < limits.maxFiles else {
                throw Problem.tooManyFiles(limit: limits.maxFiles)
            }
            total += size
            guard total <= limits.maxTotalBytes else {
                throw Problem.tooLarge(limitBytes: limits.maxTotalBytes)
            }
            files.append(DeploymentFile(path: relative, bytes: try contents(of: path, size: size)))
        }
        guard !files.isEmpty else { throw Problem.noFiles }
        return files.sorted { $0.path < $1.path }
    }

    private static func walk(
        _ directory: String, relative: String, _ visit: (String, String, Int) throws -> Void
    ) throws {
        guard let handle = opendir(directory) else { return }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." || isIgnored(name) { continue }
            names.append(name)
        }
        for name in names.sorted() {
            let path = directory + "/" + name
            let inside = relative.isEmpty ? name : relative + "/" + name
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFDIR: try walk(path, relative: inside, visit)
            case S_IFREG: try visit(path, inside, Int(info.st_size))
            default: continue  // links, sockets, devices
            }
        }
    }

    private static func contents(of path: String, size: Int) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw Problem.unreadable }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        while done < size {
            let count = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + done, size - done) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            done += count
        }
        return Array(bytes.prefix(done))
    }
}
