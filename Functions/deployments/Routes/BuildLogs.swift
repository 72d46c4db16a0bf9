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

/// `GET /v1/projects/:projectId/vercel/deployments/:deploymentId/logs`, as nginx passes it when a
/// reader subscribes to the deployment's build events. The signature, the nonce and the project's
/// ownership are checked as for any route; then the deployment's one pump (across every host) is
/// started if none runs, and 204 with an X-Accel-Redirect has nginx serve the reader from the
/// channel (Nchan's own authorization subrequest cannot be used: with its channels in Redis, Nchan
/// 1.3.6 crashes on it). No thread is held per reader: nginx holds
/// the readers, the pump holds the one stream from Vercel.
enum BuildLogs {
    @Sendable static func authorize(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        let (_, deployment, credentials) = try call.readableDeployment(context)
        try LogPumps.shared.ensure(
            deployment.deploymentID,
            LogPumpSource(credentials, context),
            settings: context.configuration.deployments, logger: call.logger)
        // nginx serves the reader from the deployment's channel (routes.conf's `/_logs/subscribe/…`).
        // An nginx still on the previous release's routing table (an upgrade between a group's
        // restart and nginx's reload) asks through Nchan's authorization subrequest, whose location
        // is not the reader's: its 204 alone lets the reader in there.
        guard call.request.documentURI?.hasSuffix("/logs") == true else { return Response(status: 204) }
        return Response(status: 204, headers: [("X-Accel-Redirect", "/_logs/subscribe/\(deployment.deploymentID)")])
    }
}

/// The build log pumps of this process. A deployment has one pump across every host: the process
/// that holds its lease (`LogPumpLeaseKeeper`, renewed every few seconds) reads the deployment's
/// events from Vercel and publishes each to nginx's Nchan channel for it, which every host's
/// readers share when the channels are kept in Redis. A process whose reader subscribes while
/// another host pumps waits as a standby for as long as the channel has readers, and takes the
/// deployment over when that host's lease lapses (the host died). A pump that starts again skips
/// what the channel already holds, so readers never see an event twice; a deployment whose pump
/// finished within the hour the channel keeps its events is not pumped again.
final class LogPumps: Sendable {
    static let shared = LogPumps()

    /// How long a finished deployment's events stay in its channel (nginx's `nchan_message_timeout`).
    static let retention: Duration = .seconds(LogPumpLeaseStore.retentionSeconds)
    /// How often a standby tries the lease, and how long it waits with no reader on the channel.
    static let standbyPoll: Duration = .seconds(2)
    static let standbyWithoutReaders: Duration = .seconds(30)
    /// How often the process renews the leases it holds.
    static let renewal: Duration = .seconds(3)

    private struct State {
        var running: Set<String> = []
        var finished: [String: ContinuousClock.Instant] = [:]
    }

    private let state = Mutex(State())
    /// One per database (a process has one; the in-process tests each have their own).
    private let keepers = Mutex<[String: LogPumpLeaseKeeper]>([:])

    /// Pumps and standbys running in this process now.
    var running: Int { state.withLock { $0.running.count } }

    /// The process's lease keeper, made (and its renewals started) on the first pump.
    private func leases(_ configuration: ServiceConfiguration) -> LogPumpLeaseKeeper {
        keepers.withLock { keepers in
            if let keeper = keepers[configuration.databaseURL] { return keeper }
            var name = [CChar](repeating: 0, count: 256)
            gethostname(&name, name.count - 1)
            let host = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let made = LogPumpLeaseKeeper(
                configuration, holder: "\(host.prefix(200))/\(getpid())/\(UInt32.random(in: 0...UInt32.max))")
            keepers[configuration.databaseURL] = made
            WorkerThread.start {
                while true {
                    usleep(UInt32(Self.renewal.components.seconds * 1_000_000))
                    try? made.renew()
                }
            }
            return made
        }
    }

    func ensure(_ deploymentID: String, _ source: LogPumpSource, settings: DeploymentSettings, logger: Logger) throws {
        enum Next {
            case nothing
            case full
            case start
        }
        let next = state.withLock { state -> Next in
            if state.running.contains(deploymentID) { return .nothing }
            if let done = state.finished[deploymentID], ContinuousClock.now - done < Self.retention { return .nothing }
            guard state.running.count < settings.maxLogPumps else { return .full }
            state.running.insert(deploymentID)
            Metrics.shared.set(.logPumps, [], Double(state.running.count))
            return .start
        }
        switch next {
        case .nothing: return
        case .full: throw DeploymentsError.tooManyLogStreams
        case .start: break
        }
        let keeper = leases(source.configuration)
        let publishURL = settings.logPublishURL + "/" + deploymentID
        WorkerThread.start { [self] in
            let completed = Self.follow(deploymentID, source, keeper: keeper, publishURL: publishURL, logger: logger)
            finish(deploymentID, done: completed)
        }
    }

    private func finish(_ deploymentID: String, done: Bool) {
        state.withLock { state in
            state.running.remove(deploymentID)
            Metrics.shared.set(.logPumps, [], Double(state.running.count))
            if done { state.finished[deploymentID] = .now }
            // Forget what the channels no longer keep.
            state.finished = state.finished.filter { ContinuousClock.now - $0.value < Self.retention }
        }
    }

    /// Pumps the deployment once its lease is this process's; true when its build's end is in the
    /// channel (published here, or by the host that finished it). While another host holds the
    /// lease this waits, trying it every two seconds, until the channel has had no reader for 30 s
    /// or the channel's retention has passed.
    static func follow(
        _ deploymentID: String, _ source: LogPumpSource, keeper: LogPumpLeaseKeeper, publishURL: String, logger: Logger
    ) -> Bool {
        let channel = LogPublisher(url: publishURL, transport: source.makeTransport())
        let began = ContinuousClock.now
        var unread: ContinuousClock.Instant?
        while ContinuousClock.now - began < retention {
            do {
                switch try keeper.claim(deploymentID) {
                case .finished:
                    return true
                case .claimed:
                    let completed = pump(
                        deploymentID, source, publishURL: publishURL, logger: logger,
                        stillOurs: { keeper.holds(deploymentID) })
                    keeper.release(deploymentID, finished: completed)
                    return completed
                case .held:
                    break
                }
            } catch {
                logger.warning(
                    "build log pump lease not claimed",
                    metadata: ["deployment.id": "\(deploymentID)", "error.detail": "\(error)"])
            }
            if channel.subscribers() > 0 {
                unread = nil
            } else if let since = unread, ContinuousClock.now - since >= standbyWithoutReaders {
                return false
            } else if unread == nil {
                unread = .now
            }
            usleep(UInt32(standbyPoll.components.seconds * 1_000_000))
        }
        return false
    }

    /// How often a stream that ends before the build does is followed again.
    static let maxStreams = 5

    /// Reads the deployment's events from Vercel and publishes each; true when the build's end was
    /// published. The end is the `deployment-state` event that reports a final state, or, when the
    /// stream stops without one, the deployment's own state read back; a build still running then
    /// is followed again (Vercel sends its events from the start: those already published are
    /// skipped by count).
    /// `stillOurs` says whether the lease is surely this process's: an event is published only then.
    static func pump(
        _ deploymentID: String, _ source: LogPumpSource, publishURL: String, logger: Logger,
        stillOurs: () -> Bool = { true }
    ) -> Bool {
        let publisher = LogPublisher(url: publishURL, transport: source.makeTransport())
        let (client, credentials) = source.vercel(logger: logger)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // What an earlier pump published: the same first events of Vercel's stream.
        let alreadyPublished = publisher.published()
        var publishedCount = 0
        var finalState: String?
        var lost = false
        for _ in 0..<maxStreams {
            var seen = 0
            var published = true
            do {
                try client.buildEvents(deploymentID: deploymentID, follow: true, credentials) { event in
                    seen += 1
                    if seen > max(alreadyPublished, publishedCount) {
                        guard stillOurs() else {
                            lost = true
                            return false
                        }
                        guard let data = try? encoder.encode(event),
                            publisher.publish(String(decoding: data, as: UTF8.self), event: event.type)
                        else {
                            published = false
                            return false
                        }
                        publishedCount = seen
                    }
                    if event.isBuildEnd {
                        finalState = event.readyState
                        return false
                    }
                    return true
                }
            } catch {
                logger.warning(
                    "build event pump failed",
                    metadata: ["error.detail": "\(error)", "deployment.id": "\(deploymentID)"])
                _ = publisher.publish(
                    JSONValue.object(["code": .string(error.code), "error": "Vercel's build events stopped"])
                        .serializedText,
                    event: "error")
                return false
            }
            if lost {
                logger.warning("build log pump lost its lease", metadata: ["deployment.id": "\(deploymentID)"])
                return false
            }
            guard published else {
                logger.warning("build events could not be published", metadata: ["deployment.id": "\(deploymentID)"])
                return false
            }
            if finalState != nil { break }
            if let deployment = try? client.deployment(deploymentID, credentials), deployment.isBuildOver {
                finalState = deployment.readyState
                break
            }
        }
        guard let finalState else {
            logger.warning(
                "build events stopped before the build ended", metadata: ["deployment.id": "\(deploymentID)"])
            return false
        }
        guard stillOurs() else { return false }
        return publisher.publish(JSONValue.object(["state": .string(finalState)]).serializedText, event: "end")
    }
}

/// How a log pump (build or runtime) reaches Vercel and the service: the subscriber's token, fresh
/// when it subscribed, and the process's settings.
struct LogPumpSource: Sendable {
    let accessToken: String
    let teamID: String?
    let apiBaseURL: String
    let makeTransport: @Sendable () -> any HTTPTransport
    let configuration: ServiceConfiguration

    init(_ credentials: VercelClient.Credentials, _ context: WorkerServices) {
        accessToken = credentials.accessToken
        teamID = credentials.teamID
        apiBaseURL = context.configuration.vercel.apiBaseURL
        makeTransport = context.makeTransport
        configuration = context.configuration
    }

    /// A client of its own (no shared breakers) and the subscriber's credentials.
    func vercel(logger: Logger) -> (VercelClient, VercelClient.Credentials) {
        (
            VercelClient(
                configuration: .init(apiBaseURL: apiBaseURL), transport: makeTransport(), breakers: nil, logger: logger),
            VercelClient.Credentials(accessToken: accessToken, teamID: teamID, logger: logger)
        )
    }
}

/// Posts events to one Nchan channel through nginx's loopback publisher.
struct LogPublisher {
    let url: String
    let transport: any HTTPTransport
    /// Sent with every request: which channel of the location (the runtime logs' filter).
    var headers: [(String, String)] = []

    /// Publishes `data` as an event named `event`; false when nginx did not take it.
    func publish(_ data: String, event: String) -> Bool {
        let request = HTTPRequest(
            method: "POST", url: url,
            headers: [("Content-Type", "application/json"), ("X-EventSource-Event", event)] + headers,
            body: Array(data.utf8), connectTimeout: .seconds(2), totalTimeout: .seconds(5))
        guard let response = try? transport.send(request) else { return false }
        return (200..<300).contains(response.status)
    }

    /// How many messages the channel holds now; 0 when it has none (or cannot say).
    func published() -> Int { info()?.messages ?? 0 }

    /// How many readers the channel has now; 0 when it has none (or cannot say).
    func subscribers() -> Int { info()?.subscribers ?? 0 }

    private func info() -> ChannelInfo? {
        let request = HTTPRequest(
            method: "GET", url: url, headers: [("Accept", "application/json")] + headers, connectTimeout: .seconds(2),
            totalTimeout: .seconds(5))
        guard let response = try? transport.send(request), response.status == 200 else { return nil }
        return try? JSONDecoder().decode(ChannelInfo.self, from: Data(response.body))
    }

    struct ChannelInfo: Decodable {
        let messages: Int
        let subscribers: Int?
    }
}

extension PlatformCall where Input == NoInput {
    /// The linked project, the call's deployment of it and credentials that may read it: what a
    /// log reader is let in with.
    func readableDeployment(
        _ context: WorkerServices
    ) throws -> (LinkedProject, DeploymentRecord, VercelClient.Credentials) {
        let project = try linkedProject()
        guard let deployment = try context.deployments(logger: logger).find(try deploymentID(), projectID: projectID)
        else {
            throw DeploymentsError.deploymentNotFound
        }
        let credentials = try context.vercelCredentials(
            for: self, connection: project.connectionID, requiring: .readDeployment)
        return (project, deployment, credentials)
    }
}
