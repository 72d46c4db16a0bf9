internal import CFastCGI
internal import CFastCGIGuard
import Dispatch
import Kernel
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
    /// The eventfd a drain writes to wake the accepting workers (-1 until `run` makes it).
    private let wakeFD = Atomic<Int32>(-1)
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
        self.handoff = Handoff(capacity: max(1, upstreamQueue), workers: max(0, upstreamWorkers))
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
        let wake = sheen_accept_wake_create()
        guard wake >= 0, sheen_accept_prepare(listenFD) == 0 else {
            logger.critical("cannot wait for connections", metadata: ["errno": .stringConvertible(errno)])
            exitCode.store(71, ordering: .relaxed)
            return
        }
        wakeFD.store(wake, ordering: .releasing)
        defer { close(wake) }
        if stopping.load(ordering: .acquiring) { sheen_accept_wake(wake) }
        if upstreamWorkers > 0 { handoff.describeMetrics() }
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
            metadata: [
                "workers": .stringConvertible(workers), "workers.upstream": .stringConvertible(upstreamWorkers),
                "pid": .stringConvertible(getpid()),
            ])
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
                logger.critical(
                    "a worker faulted and was replaced", metadata: ["workers.parked": .stringConvertible(parked)])
                if parked >= Self.maxParkedWorkers {
                    logger.critical("too many faulted workers; draining to restart")
                    exitCode.store(70, ordering: .relaxed)
                    stop()
                }
                for role in [WorkerRole.accepting, .upstream] {
                    while replaced[role, default: 0] < CrashGuard.parked(role) {
                        replaced[role, default: 0] += 1
                        if role == .upstream { handoff.replaceFaultedWorker() }
                        start(role)
                    }
                }
            }
        }
    }

    static var maxParkedWorkers: Int { 16 }

    /// 0 after a normal drain; 70 when the process should be restarted.
    public var exitStatus: Int32 { exitCode.load(ordering: .relaxed) }

    /// Stops accepting; requests in flight finish. The accepting workers wait on the listening
    /// socket and a wake descriptor together, and the drain wakes them through the latter: a
    /// connection already taken is read and answered whatever happens, and the listening socket
    /// itself is left as it is when it was inherited (fd 0): systemd keeps it and hands it, with
    /// the connections waiting in its backlog, to the next instance; shutting it down would refuse
    /// them all. A socket this process bound itself is shut down too.
    public func stop() {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        logger.info("stopping: no new requests, finishing those in flight")
        FastCGIRuntime.shutdownPending()
        let wake = wakeFD.load(ordering: .acquiring)
        if wake >= 0 { sheen_accept_wake(wake) }
        if listenFD != 0 { shutdown(listenFD, Int32(SHUT_RDWR)) }
    }

    private func accept(_ handler: any ExchangeHandler) {
        var request = Self.newRequest()
        defer {
            FCGX_Free(request, 0)
            request.deallocate()
        }
        let wake = wakeFD.load(ordering: .acquiring)
        while !stopping.load(ordering: .acquiring) {
            // One worker at a time waits for a connection; reading it happens outside the lock.
            let connection = acceptLock.withLock { _ -> Int32 in
                // A drain that began while this worker waited for the lock: accept no more.
                guard !stopping.load(ordering: .acquiring) else { return -1 }
                return sheen_accept_next(listenFD, wake, Self.receiveTimeoutMilliseconds)
            }
            if connection == -1 { break }
            if connection < 0 {
                logger.error("cannot accept a connection", metadata: ["errno": .stringConvertible(-connection)])
                usleep(50_000)
                continue
            }
            // libfcgi reads the request from this connection instead of accepting one: it finishes
            // the (empty) previous request first, which must not close it.
            request.pointee.ipcFd = connection
            request.pointee.keepConnection = 1
            // A connection that ends or sends garbage before its parameters is closed by libfcgi.
            guard FCGX_Accept_r(request) >= 0 else { continue }
            let exchange = FastCGIExchange(request: request)
            let placement = upstreamWorkers > 0 ? handler.placement(of: exchange) : .local
            if placement.reach == .upstream {
                // The upstream worker finishes and frees it; this worker accepts on a new one.
                if handoff.offer(HandedOff(request: request), tenant: placement.tenant) {
                    request = Self.newRequest()
                    continue
                }
                Metrics.shared.increment(.upstreamRefused)
                handler.refuseBusy(exchange)
            } else {
                handler.handle(exchange)
            }
            FCGX_Finish_r(request)
            // One request per connection (nginx keeps none open): close one the peer asked to keep.
            FCGX_Free(request, 1)
        }
    }

    /// How long a read from an accepted connection may wait; nginx sends a request (its body
    /// buffered) at once.
    static var receiveTimeoutMilliseconds: Int32 { 30_000 }

    private func serveHandedOff(_ handler: any ExchangeHandler) {
        while let (item, tenant) = handoff.take() {
            let started = ContinuousClock.now
            handler.handle(FastCGIExchange(request: item.request))
            FCGX_Finish_r(item.request)
            // No worker accepts on this request's connection again: close it even if the peer
            // asked to keep it (Finish closes it otherwise, and a second close is a no-op).
            FCGX_Free(item.request, 1)
            item.request.deallocate()
            handoff.finished(tenant, after: ContinuousClock.now - started)
        }
    }

    /// A request with no listening socket of its own: libfcgi never accepts (`accept` does), so a
    /// connection that fails before its parameters makes `FCGX_Accept_r` return instead of waiting.
    private static func newRequest() -> UnsafeMutablePointer<FCGX_Request> {
        let request = UnsafeMutablePointer<FCGX_Request>.allocate(capacity: 1)
        FCGX_InitRequest(request, -1, 0)
        return request
    }

    /// An accepted request on its way from an accepting worker to an upstream worker, which alone
    /// touches it from then on.
    private struct HandedOff: @unchecked Sendable {
        let request: UnsafeMutablePointer<FCGX_Request>
    }

    /// The bounded queue between the accepting and the upstream workers, and its gauges. Each
    /// tenant (a project, a user) waits in a line of its own, and the upstream workers take from
    /// the lines in turn: one tenant's flood of requests waits behind itself, not in front of
    /// everyone else's. No tenant holds more than its share of the workers at once, and the last
    /// few (the reserve) serve only tenants with nothing in flight and no slow answer of late, so
    /// however many accounts Vercel answers slowly, the others find a worker (`UpstreamShares`).
    private final class Handoff: @unchecked Sendable {
        private struct Lines {
            var waiting: [String: [HandedOff]] = [:]
            /// The tenants with a request waiting, in the order they are served.
            var turns: [String] = []
            var next = 0
            var count = 0
            var closed = false
            var shares: UpstreamShares
        }
        private var lines: Lines
        private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        private let changed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
        private let capacity: Int

        init(capacity: Int, workers: Int) {
            self.capacity = capacity
            lines = Lines(shares: UpstreamShares(workers: workers))
            pthread_mutex_init(lock, nil)
            pthread_cond_init(changed, nil)
        }

        deinit {
            pthread_cond_destroy(changed)
            pthread_mutex_destroy(lock)
            lock.deallocate()
            changed.deallocate()
        }

        private func locked<T>(_ body: (inout Lines) -> T) -> T {
            pthread_mutex_lock(lock)
            defer { pthread_mutex_unlock(lock) }
            return body(&lines)
        }

        static let depthGauge = MetricFamily.upstreamDepth
        static let busyGauge = MetricFamily.upstreamBusy
        static let slowGauge = MetricFamily.upstreamSlow

        func describeMetrics() {
            let metrics = Metrics.shared
            metrics.set(Self.depthGauge, [], 0)
            metrics.set(Self.busyGauge, [], 0)
            metrics.set(Self.slowGauge, [], 0)
            metrics.increment(.upstreamRefused, by: 0)
        }

        func replaceFaultedWorker() {
            locked { $0.shares.replaceFaultedWorker() }
            pthread_cond_broadcast(changed)
        }

        /// `tenant`'s request, taken by `take`, is answered after `duration`.
        func finished(_ tenant: String, after duration: Duration) {
            locked { lines in
                lines.shares.finish(tenant, after: duration, now: .now)
                Metrics.shared.set(Self.busyGauge, [], Double(lines.shares.busy))
                Metrics.shared.set(Self.slowGauge, [], Double(lines.shares.slowCount(now: .now)))
            }
            pthread_cond_broadcast(changed)
        }

        /// Queues `item` in `tenant`'s line; false when the queue is full or closed.
        func offer(_ item: HandedOff, tenant: String) -> Bool {
            let queued = locked { lines in
                guard !lines.closed, lines.count < capacity else { return false }
                if lines.waiting[tenant, default: []].isEmpty { lines.turns.append(tenant) }
                lines.waiting[tenant, default: []].append(item)
                lines.count += 1
                Metrics.shared.set(Self.depthGauge, [], Double(lines.count))
                return true
            }
            if queued { pthread_cond_broadcast(changed) }
            return queued
        }

        /// The first item of the next tenant's line that may have a worker now, with its tenant,
        /// waiting for one; nil once the queue is closed and empty.
        func take() -> (item: HandedOff, tenant: String)? {
            pthread_mutex_lock(lock)
            defer { pthread_mutex_unlock(lock) }
            while true {
                if lines.count == 0, lines.closed { return nil }
                if let taken = takeEligible() { return taken }
                pthread_cond_wait(changed, lock)
            }
        }

        /// Called with the lock held.
        private func takeEligible() -> (item: HandedOff, tenant: String)? {
            let now = ContinuousClock.now
            let count = lines.turns.count
            guard count > 0 else { return nil }
            if lines.next >= count { lines.next = 0 }
            for offset in 0..<count {
                let index = (lines.next + offset) % count
                let tenant = lines.turns[index]
                // A closed queue drains whatever waits, shares or not.
                guard lines.closed || lines.shares.mayStart(tenant, now: now) else { continue }
                let item = lines.waiting[tenant]!.removeFirst()
                if lines.waiting[tenant]!.isEmpty {
                    // Its turn is over; the next tenant now stands at `index`.
                    lines.waiting[tenant] = nil
                    lines.turns.remove(at: index)
                    lines.next = index
                } else {
                    lines.next = index + 1
                }
                lines.count -= 1
                lines.shares.start(tenant)
                Metrics.shared.set(Self.depthGauge, [], Double(lines.count))
                Metrics.shared.set(Self.busyGauge, [], Double(lines.shares.busy))
                return (item, tenant)
            }
            return nil
        }

        /// Takes no more items; the waiting workers wake to drain what is queued, then end.
        func close(consumers: Int) {
            locked { $0.closed = true }
            pthread_cond_broadcast(changed)
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

/// Where an accepted request is served, and whose it is.
public struct Placement: Sendable, Equatable {
    public var reach: Reach
    /// Whose request it is (a project, a user): the upstream workers take turns between tenants.
    public var tenant: String

    public init(reach: Reach, tenant: String) {
        self.reach = reach
        self.tenant = tenant
    }

    public static let local = Placement(reach: .local, tenant: "")
}

/// Serves the requests of one worker thread.
public protocol ExchangeHandler: AnyObject {
    func handle(_ exchange: FastCGIExchange)
    /// Whether the exchange's route may wait on another service, and for whom. Asked by an
    /// accepting worker before anything but the request's parameters is read.
    func placement(of exchange: FastCGIExchange) -> Placement
    /// Answers an exchange no upstream worker can take now: 503, try again shortly.
    func refuseBusy(_ exchange: FastCGIExchange)
}
