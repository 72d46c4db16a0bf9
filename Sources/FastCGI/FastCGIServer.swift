internal import CFastCGI
import Dispatch
import Logging
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Serves FastCGI on a listening socket with a fixed set of worker threads, each accepting in turn
/// (Debian's libfcgi does no locking of its own) and handling one request at a time.
///
/// SIGTERM drains: no new request is accepted, the ones in flight finish, then `run` returns.
public final class FastCGIServer: Sendable {
    private let listenFD: Int32
    private let workers: Int
    private let logger: Logger
    private let acceptLock = Mutex(())
    private let stopping = Atomic<Bool>(false)
    private let exitCode = Atomic<Int32>(0)

    public init(listenFD: Int32, workers: Int, logger: Logger) {
        self.listenFD = listenFD
        self.workers = max(1, workers)
        self.logger = logger
    }

    /// Runs until SIGTERM or SIGINT, then drains and returns.
    /// - Parameter makeHandler: called once on each worker thread; the handler it returns (with its
    ///   own database connection, say) serves every request of that thread.
    public func run(_ makeHandler: @escaping @Sendable () -> any ExchangeHandler) {
        FastCGIRuntime.initialize()
        signal(SIGPIPE, SIG_IGN)
        let signals = [SIGTERM, SIGINT].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [self] in stop() }
            source.resume()
            return source
        }
        defer { for signal in signals { signal.cancel() } }

        CrashGuard.install()
        let finished = DispatchSemaphore(value: 0)
        let start: @Sendable () -> Void = { [self] in
            WorkerThread.start { [self] in
                CrashGuard.prepareThread()
                serve(makeHandler())
                finished.signal()
            }
        }
        for _ in 0..<workers { start() }
        startReplacingParkedWorkers(start)
        logger.info("serving", metadata: ["workers": "\(workers)", "pid": "\(getpid())"])
        for _ in 0..<workers { finished.wait() }
        logger.info("drained, exiting")
    }

    /// A worker that faulted parks for good (see `CrashGuard`); start another in its place. Past
    /// `maxParkedWorkers` the leaked stacks and connections add up: drain and exit so the service
    /// manager starts a fresh process.
    private func startReplacingParkedWorkers(_ start: @escaping @Sendable () -> Void) {
        WorkerThread.start { [self] in
            while true {
                let parked = CrashGuard.waitForParkedWorker()
                logger.critical("a worker faulted and was replaced", metadata: ["workers.parked": "\(parked)"])
                if parked >= Self.maxParkedWorkers {
                    logger.critical("too many faulted workers; draining to restart")
                    exitCode.store(70, ordering: .relaxed)
                    stop()
                }
                start()
            }
        }
    }

    static var maxParkedWorkers: Int { 16 }

    /// 0 after a normal drain; 70 when the process should be restarted.
    public var exitStatus: Int32 { exitCode.load(ordering: .relaxed) }

    /// Stops accepting; requests in flight finish.
    public func stop() {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        logger.info("stopping: no new requests, finishing those in flight")
        FastCGIRuntime.shutdownPending()
        shutdown(listenFD, Int32(SHUT_RDWR))
    }

    private func serve(_ handler: any ExchangeHandler) {
        let request = UnsafeMutablePointer<FCGX_Request>.allocate(capacity: 1)
        defer { request.deallocate() }
        FCGX_InitRequest(request, listenFD, 0)
        while !stopping.load(ordering: .acquiring) {
            let accepted = acceptLock.withLock { _ in FCGX_Accept_r(request) }
            guard accepted >= 0 else { break }
            handler.handle(FastCGIExchange(request: request))
            FCGX_Finish_r(request)
        }
        FCGX_Free(request, 0)
    }
}

/// Serves the requests of one worker thread.
public protocol ExchangeHandler: AnyObject {
    func handle(_ exchange: FastCGIExchange)
}
