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

/// What a worker thread of the server does.
public enum WorkerRole: Sendable, Equatable {
    /// Accepts requests, each in turn (Debian's libfcgi does no locking of its own), and serves
    /// those whose route reaches only this service's own state; hands the others to the upstream
    /// workers. So a slow service upstream never holds an accepting worker.
    case accepting
    /// Serves the requests whose route may wait on another service.
    case upstream

    var guardKind: Int32 { self == .accepting ? 0 : 1 }
}

/// Serves FastCGI on a listening socket with two fixed sets of worker threads: accepting workers,
/// which serve the routes that reach only this service's state (`Reach.local`), and upstream
/// workers, which serve the routes that may wait on another service (`Reach.upstream`), handed to
/// them through a bounded queue. When the queue is full the accepting worker answers the request
/// itself with 503 (`ExchangeHandler.refuseBusy`). Without upstream workers, the accepting workers
/// serve everything.
///
/// SIGTERM drains: no new request is accepted, the ones in flight and queued finish, then `run`
/// returns.
public final class FastCGIServer: Sendable {
    private let listenFD: Int32
    private let workers: Int
    private let upstreamWorkers: Int
    private let handoff: Handoff
    private let logger: Logger
    private let acceptLock = Mutex(())
    private let stopping = Atomic<Bool>(false)
    private let exitCode = Atomic<Int32>(0)

    /// - Parameters:
    ///   - workers: accepting workers.
    ///   - upstreamWorkers: workers for the requests that may wait on another service; 0 serves
    ///     them on the accepting workers.
    ///   - upstreamQueue: how many such requests may wait for an upstream worker.
    public init(listenFD: Int32, workers: Int, upstreamWorkers: Int = 0, upstreamQueue: Int = 1024, logger: Logger) {
        self.listenFD = listenFD
        self.workers = max(1, workers)
        self.upstreamWorkers = max(0, upstreamWorkers)
        self.handoff = Handoff(capacity: max(1, upstreamQueue))
        self.logger = logger
    }

    /// Runs until SIGTERM or SIGINT, then drains and returns.
    /// - Parameter makeHandler: called once on each worker thread with its role; the handler it
    ///   returns (with its own database connection, say) serves every request of that thread.
    public func run(_ makeHandler: @escaping @Sendable (WorkerRole) -> any ExchangeHandler) {
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
        let acceptorsFinished = DispatchSemaphore(value: 0)
        let upstreamFinished = DispatchSemaphore(value: 0)
        let start: @Sendable (WorkerRole) -> Void = { [self] role in
            WorkerThread.start { [self] in
                CrashGuard.prepareThread(role)
                let handler = makeHandler(role)
                switch role {
                case .accepting:
                    accept(handler)
                    acceptorsFinished.signal()
                case .upstream:
                    serveHandedOff(handler)
                    upstreamFinished.signal()
                }
            }
        }
        for _ in 0..<workers { start(.accepting) }
        for _ in 0..<upstreamWorkers { start(.upstream) }
        startReplacingParkedWorkers(start)
        logger.info(
            "serving",
            metadata: ["workers": "\(workers)", "workers.upstream": "\(upstreamWorkers)", "pid": "\(getpid())"])
        for _ in 0..<workers { acceptorsFinished.wait() }
        // Nothing more is handed off; the upstream workers finish what is queued, then end.
        handoff.close(consumers: upstreamWorkers)
        for _ in 0..<upstreamWorkers { upstreamFinished.wait() }
        logger.info("drained, exiting")
    }

    /// A worker that faulted parks for good (see `CrashGuard`); start another of its role in its
    /// place. Past `maxParkedWorkers` the leaked stacks and connections add up: drain and exit so
    /// the service manager starts a fresh process.
    private func startReplacingParkedWorkers(_ start: @escaping @Sendable (WorkerRole) -> Void) {
        WorkerThread.start { [self] in
            var replaced: [WorkerRole: Int] = [.accepting: 0, .upstream: 0]
            while true {
                let parked = CrashGuard.waitForParkedWorker()
                logger.critical("a worker faulted and was replaced", metadata: ["workers.parked": "\(parked)"])
                if parked >= Self.maxParkedWorkers {
                    logger.critical("too many faulted workers; draining to restart")
                    exitCode.store(70, ordering: .relaxed)
                    stop()
                }
                for role in [WorkerRole.accepting, .upstream] {
                    while replaced[role, default: 0] < CrashGuard.parked(role) {
                        replaced[role, default: 0] += 1
                        start(role)
                    }
                }
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

    private func accept(_ handler: any ExchangeHandler) {
        var request = Self.newRequest(listenFD)
        defer {
            FCGX_Free(request, 0)
            request.deallocate()
        }
        while !stopping.load(ordering: .acquiring) {
            let accepted = acceptLock.withLock { _ in FCGX_Accept_r(request) }
            guard accepted >= 0 else { break }
            let exchange = FastCGIExchange(request: request)
            if upstreamWorkers > 0, handler.reach(of: exchange) == .upstream {
                // The upstream worker finishes and frees it; this worker accepts on a new one.
                if handoff.offer(HandedOff(request: request)) {
                    request = Self.newRequest(listenFD)
                    continue
                }
                handler.refuseBusy(exchange)
            } else {
                handler.handle(exchange)
            }
            FCGX_Finish_r(request)
        }
    }

    private func serveHandedOff(_ handler: any ExchangeHandler) {
        while let item = handoff.take() {
            handler.handle(FastCGIExchange(request: item.request))
            FCGX_Finish_r(item.request)
            item.request.deallocate()
        }
    }

    private static func newRequest(_ listenFD: Int32) -> UnsafeMutablePointer<FCGX_Request> {
        let request = UnsafeMutablePointer<FCGX_Request>.allocate(capacity: 1)
        FCGX_InitRequest(request, listenFD, 0)
        return request
    }

    /// An accepted request on its way from an accepting worker to an upstream worker, which alone
    /// touches it from then on.
    private struct HandedOff: @unchecked Sendable {
        let request: UnsafeMutablePointer<FCGX_Request>
    }

    /// The bounded queue between the accepting and the upstream workers.
    private final class Handoff: Sendable {
        private let state = Mutex<(items: [HandedOff], head: Int, closed: Bool)>(([], 0, false))
        private let available = DispatchSemaphore(value: 0)
        private let capacity: Int

        init(capacity: Int) { self.capacity = capacity }

        /// Queues `item`; false when the queue is full or closed.
        func offer(_ item: HandedOff) -> Bool {
            let queued = state.withLock { state in
                guard !state.closed, state.items.count - state.head < capacity else { return false }
                state.items.append(item)
                return true
            }
            if queued { available.signal() }
            return queued
        }

        /// The next item, waiting for one; nil once the queue is closed and empty.
        func take() -> HandedOff? {
            available.wait()
            return state.withLock { state in
                guard state.head < state.items.count else { return nil }
                let item = state.items[state.head]
                state.head += 1
                if state.head == state.items.count {
                    state.items.removeAll(keepingCapacity: true)
                    state.head = 0
                }
                return item
            }
        }

        /// Takes no more items and wakes each of `consumers` once more, so each sees the end.
        func close(consumers: Int) {
            state.withLock { $0.closed = true }
            for _ in 0..<consumers { available.signal() }
        }
    }
}

/// Where a route's requests are served.
public enum Reach: Sendable, Equatable {
    /// The route reaches only this service's own state (its database): an accepting worker serves it.
    case local
    /// The route may wait on another service: an upstream worker serves it.
    case upstream
}

/// Serves the requests of one worker thread.
public protocol ExchangeHandler: AnyObject {
    func handle(_ exchange: FastCGIExchange)
    /// Whether the exchange's route may wait on another service. Asked by an accepting worker
    /// before anything but the request's parameters is read.
    func reach(of exchange: FastCGIExchange) -> Reach
    /// Answers an exchange no upstream worker can take now: 503, try again shortly.
    func refuseBusy(_ exchange: FastCGIExchange)
}
