internal import CFastCGI

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Where a FastCGI process listens: a unix socket it opens itself, or one it inherited on fd 0
/// (spawn-fcgi, systemd socket activation, or this package's supervisor).
public enum ListenSocket: Sendable {
    case path(String)
    case inherited

    /// Opens the socket (removing a stale one first) and returns its descriptor.
    /// - Throws: when the path cannot be bound.
    public func open(backlog: Int32 = 1024) throws -> Int32 {
        FastCGIRuntime.initialize()
        switch self {
        case .inherited:
            return 0
        case .path(let path):
            unlink(path)
            let fd = FCGX_OpenSocket(path, backlog)
            guard fd >= 0 else { throw FastCGIServerError.cannotListen(path) }
            // nginx workers run as another user; the socket sits in a private run directory.
            chmod(path, 0o666)
            return fd
        }
    }
}

public enum FastCGIServerError: Error, CustomStringConvertible {
    case cannotListen(String)
    case cannotSpawn(Int32)

    public var description: String {
        switch self {
        case .cannotListen(let path): "cannot listen on \(path)"
        case .cannotSpawn(let code): "cannot start a worker process (errno \(code))"
        }
    }
}

/// libfcgi's one-time global setup, which must precede every thread.
enum FastCGIRuntime {
    private static let once: Void = {
        _ = FCGX_Init()
    }()

    static func initialize() { _ = once }

    static func shutdownPending() { FCGX_ShutdownPending() }
}
