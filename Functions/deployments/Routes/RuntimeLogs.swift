import FastCGI
import Kernel
import Logging
import Platform
import PlatformHost
import Synchronization
import Vercel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// A deployment's runtime logs for the platform.
/// - `GET …/deployments/:deploymentId/runtime-logs`, as nginx asks it when a reader subscribes
///   (Nchan's authorization subrequest, as for build logs): the reader's filter (`level`: the
///   least severe level shown; `status`: `2xx` to `5xx`; `path`: a prefix of the request path) is
///   checked, registered with the deployment's one pump in this process, and 204 lets nginx serve
///   the reader from the channel of its filter.
/// - `GET …/deployments/:deploymentId/runtime-errors?since=`: the errors the pumps recorded since
///   then (at most a day back), counted by path and status, with the latest; asking keeps the
///   deployment's logs followed for ten minutes, so a widget that polls keeps its summary current.
enum RuntimeLogs {
    /// What one reader wants to see. `key` names its channel: `level:status:path` exactly as the
    /// query sent them, which is how nginx names the channel it subscribes the reader to.
    struct Filter: Sendable, Equatable, Hashable {
        let key: String
        let minimumSeverity: Int?
        let statusClass: Int?
        let pathPrefix: String?

        static let statusClasses = ["1xx": 1, "2xx": 2, "3xx": 3, "4xx": 4, "5xx": 5]

        func passes(_ log: VercelRuntimeLog) -> Bool {
            if let minimumSeverity, log.severity < minimumSeverity { return false }
            if let statusClass, log.responseStatusCode / 100 != statusClass { return false }
            if let pathPrefix, !log.requestPath.hasPrefix(pathPrefix) { return false }
            return true
        }

        /// The filter of a query string as received (not decoded): nginx's `$arg_level`,
        /// `$arg_status` and `$arg_path` are the raw values, so the channel key is built from them.
        init(rawQuery: String) throws(DeploymentsError) {
            var raw: [String: String] = [:]
            for pair in rawQuery.split(separator: "&", omittingEmptySubsequences: true) {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = String(parts[0])
                guard ["level", "status", "path"].contains(name.lowercased()) else { continue }
                // nginx reads argument names regardless of case: only one spelling is taken.
                guard ["level", "status", "path"].contains(name), raw[name] == nil else {
                    throw .invalidRuntimeLogFilter("give each of level, status and path once, in lower case")
                }
                raw[name] = parts.count > 1 ? String(parts[1]) : ""
            }
            let level = raw["level"] ?? ""
            let status = raw["status"] ?? ""
            let path = raw["path"] ?? ""
            if level.isEmpty {
                minimumSeverity = nil
            } else if let severity = VercelRuntimeLog.levels.firstIndex(of: level) {
                minimumSeverity = severity
            } else {
                throw .invalidRuntimeLogFilter(
                    "level must be one of \(VercelRuntimeLog.levels.joined(separator: ", "))")
            }
            if status.isEmpty {
                statusClass = nil
            } else if let found = Self.statusClasses[status] {
                statusClass = found
            } else {
                throw .invalidRuntimeLogFilter("status must be 1xx, 2xx, 3xx, 4xx or 5xx")
            }
            if path.isEmpty {
                pathPrefix = nil
            } else {
                let decoded = QueryString.decode(path, plusAsSpace: false)
                guard path.utf8.count <= 384,
                    path.utf8.allSatisfy({ Self.rawPathBytes.contains($0) }),
                    decoded.hasPrefix("/"), decoded.utf8.count <= 128,
                    decoded.utf8.allSatisfy({ (0x21...0x7e).contains($0) && $0 != UInt8(ascii: "?") })
                else {
                    throw .invalidRuntimeLogFilter(
                        "path must be a path prefix starting with /, at most 128 printable characters")
                }
                pathPrefix = decoded
            }
            key = "\(level):\(status):\(path)"
        }

        /// What a raw path may hold: RFC 3986's unreserved characters, `/` and percent escapes.
        static let rawPathBytes: Set<UInt8> = Set(
            Array(UInt8(ascii: "a")...UInt8(ascii: "z")) + Array(UInt8(ascii: "A")...UInt8(ascii: "Z"))
                + Array(UInt8(ascii: "0")...UInt8(ascii: "9")) + Array("-._~/%".utf8))
    }

    @Sendable static func authorize(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        let filter = try Filter(rawQuery: call.request.rawQuery)
        let (deployment, source) = try follow(call, context)
        try RuntimeLogPumps.shared.ensure(
            deployment.deploymentID, source, filter: filter, keep: .zero, settings: context.configuration.deployments,
            logger: call.logger)
        call.logger.info(
            "runtime log subscription",
            metadata: ["deployment.id": "\(deployment.deploymentID)", "filter": "\(filter.key)"])
        return Response(status: 204)
    }

    struct Errors: Encodable {
        let deploymentId: String
        /// Whether the deployment's logs are followed now (errors are recorded only while they are).
        let following: Bool
        /// Since when this host has followed them without a break; nil when it does not.
        let followingSince: Date?
        let summary: RuntimeErrorStore.Summary

        func encode(to encoder: any Encoder) throws {
            enum Keys: String, CodingKey {
                case deploymentId, following, followingSince, since, total, truncated, byPath, latest
            }
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(deploymentId, forKey: .deploymentId)
            try container.encode(following, forKey: .following)
            try container.encode(followingSince, forKey: .followingSince)
            try container.encode(summary.since, forKey: .since)
            try container.encode(summary.total, forKey: .total)
            try container.encode(summary.truncated, forKey: .truncated)
            try container.encode(summary.byPath, forKey: .byPath)
            try container.encode(summary.latest, forKey: .latest)
        }
    }

    /// How long asking for the errors keeps a deployment's logs followed.
    static let summaryKeeps: Duration = .seconds(600)

    @Sendable static func errors(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        let now = Date()
        let since = try since(call.query("since"), now: now)
        let (deployment, source) = try follow(call, context)
        var followingSince: Date?
        do {
            followingSince = try RuntimeLogPumps.shared.ensure(
                deployment.deploymentID, source, filter: nil, keep: summaryKeeps,
                settings: context.configuration.deployments, logger: call.logger)
        } catch DeploymentsError.tooManyLogStreams {
            // What is recorded is still worth showing.
            call.logger.warning("runtime logs not followed: too many pumps")
        }
        let summary = try context.runtimeErrors.summary(
            deploymentID: deployment.deploymentID, projectID: call.projectID, since: since)
        return .json(
            Errors(
                deploymentId: deployment.deploymentID, following: followingSince != nil,
                followingSince: followingSince, summary: summary))
    }

    /// `since` as sent (an RFC 3339 time, or milliseconds since 1970): an hour back when absent,
    /// a day back at most.
    static func since(_ text: String?, now: Date) throws(DeploymentsError) -> Date {
        guard let text else { return now.addingTimeInterval(-3600) }
        let parsed: Date?
        if let millis = Int64(text), text.utf8.count <= 16 {
            parsed = Date(timeIntervalSince1970: Double(millis) / 1000)
        } else if text.utf8.count <= 40 {
            parsed = try? Date(text, strategy: .iso8601)
        } else {
            parsed = nil
        }
        guard let parsed, parsed <= now.addingTimeInterval(60) else { throw .invalidSince }
        return max(parsed, now.addingTimeInterval(-RuntimeErrorStore.lookback))
    }

    /// The deployment of the call's project, and how its pump reaches Vercel.
    private static func follow(
        _ call: PlatformCall<NoInput>, _ context: WorkerServices
    ) throws -> (DeploymentRecord, RuntimeLogPumps.Source) {
        let (project, deployment, credentials) = try call.readableDeployment(context)
        return (
            deployment,
            RuntimeLogPumps.Source(
                vercel: LogPumpSource(credentials, context), vercelProjectID: project.vercelProjectID,
                projectID: project.projectID)
        )
    }
}

/// The runtime log pumps of this process: at most one per deployment, each on a thread of its own,
/// following the deployment's runtime logs from Vercel (a stream Vercel ends after five minutes,
/// followed again while it is wanted) and publishing each line to the channel of every reader's
/// filter it passes, and recording its errors. A pump runs while a reader is subscribed to one of
/// its channels (nginx's channel info says so) or a summary asked for it in the last ten minutes.
final class RuntimeLogPumps: Sendable {
    static let shared = RuntimeLogPumps()

    struct Source: Sendable {
        let vercel: LogPumpSource
        let vercelProjectID: String
        let projectID: UUID
    }

    private struct Pump {
        /// Each reader's filter, by channel key, and when a reader last subscribed with it.
        var filters: [String: (filter: RuntimeLogs.Filter, subscribedAt: ContinuousClock.Instant)] = [:]
        var keepUntil: ContinuousClock.Instant
        let startedAt: Date
    }

    private let pumps = Mutex([String: Pump]())

    /// How long a filter is kept with no reader on its channel (a subscription on its way in).
    static let filterGrace: Duration = .seconds(30)
    /// How often a pump asks nginx whether its channels still have readers.
    static let readerCheck: Duration = .seconds(5)
    /// The distinct filters one deployment's readers may hold at once.
    static let filtersPerPump = 32
    /// The rowIds a pump remembers, so a line Vercel sends again (a stream followed again) is skipped.
    static let remembered = 10_000

    /// Starts the deployment's pump if it is not running, adds `filter` to it, and keeps it for
    /// `keep` at least; since when it has run.
    @discardableResult
    func ensure(
        _ deploymentID: String, _ source: Source, filter: RuntimeLogs.Filter?, keep: Duration,
        settings: DeploymentSettings, logger: Logger
    ) throws -> Date {
        let now = ContinuousClock.now
        let started = try pumps.withLock { pumps -> (Date, Bool) in
            if var pump = pumps[deploymentID] {
                if let filter {
                    // Each filter costs a publish per line it passes and a channel check: a bound.
                    guard pump.filters[filter.key] != nil || pump.filters.count < Self.filtersPerPump else {
                        throw DeploymentsError.tooManyLogStreams
                    }
                    pump.filters[filter.key] = (filter, now)
                }
                pump.keepUntil = max(pump.keepUntil, now + keep)
                pumps[deploymentID] = pump
                return (pump.startedAt, false)
            }
            guard pumps.count < settings.maxLogPumps else { throw DeploymentsError.tooManyLogStreams }
            var pump = Pump(keepUntil: now + keep, startedAt: Date())
            if let filter { pump.filters[filter.key] = (filter, now) }
            pumps[deploymentID] = pump
            Metrics.shared.set(.runtimeLogPumps, [], Double(pumps.count))
            return (pump.startedAt, true)
        }
        if started.1 {
            let publishURL = settings.logPublishURL + "/" + deploymentID + "/runtime"
            WorkerThread.start { [self] in
                run(deploymentID, source, publishURL: publishURL, logger: logger)
                pumps.withLock { pumps in
                    pumps[deploymentID] = nil
                    Metrics.shared.set(.runtimeLogPumps, [], Double(pumps.count))
                }
            }
        }
        return started.0
    }

    /// The filters to publish to now; empty and false when the pump is no longer wanted.
    private func wanted(_ deploymentID: String, readers: [String: Int]?) -> ([RuntimeLogs.Filter], Bool) {
        let now = ContinuousClock.now
        return pumps.withLock { pumps in
            guard var pump = pumps[deploymentID] else { return ([], false) }
            if let readers {
                pump.filters = pump.filters.filter { key, entry in
                    (readers[key] ?? 0) > 0 || now - entry.subscribedAt < Self.filterGrace
                }
                pumps[deploymentID] = pump
            }
            return (pump.filters.values.map(\.filter), !pump.filters.isEmpty || pump.keepUntil > now)
        }
    }

    private func run(_ deploymentID: String, _ source: Source, publishURL: String, logger: Logger) {
        let (client, credentials) = source.vercel.vercel(logger: logger)
        let transport = source.vercel.makeTransport()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let recorder = RuntimeErrorRecorder(source.vercel.configuration)
        defer { recorder.close() }
        var seen = Set<String>()
        var order: [String] = []
        var errors: [VercelRuntimeLog] = []
        var flushed = ContinuousClock.now
        var checked = ContinuousClock.now
        var (filters, alive) = wanted(deploymentID, readers: nil)

        func flush() {
            defer { flushed = .now }
            guard !errors.isEmpty else { return }
            do {
                try recorder.record(errors, deploymentID: deploymentID, projectID: source.projectID)
                errors.removeAll()
            } catch {
                // Kept for the next flush, up to a bound.
                logger.warning(
                    "runtime errors not recorded",
                    metadata: ["deployment.id": "\(deploymentID)", "error.detail": "\(error)"])
                if errors.count > 500 { errors.removeFirst(errors.count - 500) }
            }
        }
        func tick() -> Bool {
            if ContinuousClock.now - flushed >= .seconds(1) { flush() }
            if ContinuousClock.now - checked >= Self.readerCheck {
                checked = .now
                (filters, alive) = wanted(deploymentID, readers: readers(filters, publishURL, transport))
            } else {
                (filters, alive) = wanted(deploymentID, readers: nil)
            }
            return alive
        }

        var pause: Duration = .seconds(1)
        while alive {
            let began = ContinuousClock.now
            do {
                try client.runtimeLogs(
                    projectID: source.vercelProjectID, deploymentID: deploymentID, credentials, onTick: tick
                ) { log in
                    guard seen.insert(log.rowId).inserted else { return true }
                    order.append(log.rowId)
                    if order.count > Self.remembered { seen.remove(order.removeFirst()) }
                    if log.isError { errors.append(log) }
                    if let data = try? encoder.encode(log) {
                        let text = String(decoding: data, as: UTF8.self)
                        for filter in filters where filter.passes(log) {
                            if !publish(text, event: log.level, filter: filter, publishURL, transport) {
                                logger.warning(
                                    "runtime log line not published", metadata: ["deployment.id": "\(deploymentID)"])
                            }
                        }
                    }
                    if errors.count >= 50 { flush() }
                    return tick()
                }
            } catch {
                logger.warning(
                    "runtime log stream failed",
                    metadata: ["deployment.id": "\(deploymentID)", "error.detail": "\(error)"])
                // Vercel refusing the deployment's logs (gone, not permitted) does not change by asking again.
                if Self.isRefusal(error) { break }
            }
            flush()
            (filters, alive) = wanted(deploymentID, readers: readers(filters, publishURL, transport))
            // Vercel ends a stream after five minutes; one that ended at once, or failed, is not
            // followed again at once: a second, doubling to thirty.
            if ContinuousClock.now - began < .seconds(10) {
                let until = ContinuousClock.now + pause
                while alive, ContinuousClock.now < until {
                    usleep(250_000)
                    (filters, alive) = wanted(deploymentID, readers: nil)
                }
                pause = min(pause * 2, .seconds(30))
            } else {
                pause = .seconds(1)
            }
        }
        flush()
        logger.info("runtime log pump stopped", metadata: ["deployment.id": "\(deploymentID)"])
    }

    static func isRefusal(_ error: VercelError) -> Bool {
        switch error {
        case .api(let status, _, _): (400..<500).contains(status) && status != 408 && status != 429
        case .unauthorized, .forbidden: true
        default: false
        }
    }

    private func publish(
        _ text: String, event: String, filter: RuntimeLogs.Filter, _ url: String, _ transport: any HTTPTransport
    ) -> Bool {
        LogPublisher(url: url, transport: transport, headers: [("X-Runtime-Filter", filter.key)])
            .publish(text, event: event)
    }

    /// How many readers each filter's channel has, as nginx says.
    private func readers(
        _ filters: [RuntimeLogs.Filter], _ url: String, _ transport: any HTTPTransport
    ) -> [String: Int] {
        var counts: [String: Int] = [:]
        for filter in filters {
            counts[filter.key] =
                LogPublisher(url: url, transport: transport, headers: [("X-Runtime-Filter", filter.key)]).subscribers()
        }
        return counts
    }
}
