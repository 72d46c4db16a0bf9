import FastCGI
import Glibc
import Kernel
import Logging
import Migrator
import Platform
import Postgres
import Vercel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
#endif

/// The `main` of every group executable: reads `--socket PATH` (or serves the socket inherited on
/// fd 0), `--workers N`, `--upstream-workers N` and `--upstream-queue N`, loads the configuration,
/// and serves the group's routes until SIGTERM.
public enum GroupServer {
    /// Never returns: exits 0 after a drain (or after `--version`), 64 on bad arguments, 78 on bad
    /// configuration or a schema older than this build's, 75 when the database cannot be asked.
    public static func run(_ group: FunctionGroup, arguments: [String] = CommandLine.arguments) -> Never {
        Release.answerVersion(program: "vercel-\(group.name)", arguments: arguments)
        let configuration: ServiceConfiguration
        do {
            configuration = try ServiceConfiguration.fromEnvironment()
        } catch {
            JSONLogHandler.bootstrap(level: .info)
            Logger(label: group.name).critical("bad configuration", metadata: ["error.detail": "\(error)"])
            exit(78)
        }
        JSONLogHandler.bootstrap(level: configuration.logLevel)
        let logger = Logger(label: group.name)
        let options: Options
        do {
            options = try Options(parsing: Array(arguments.dropFirst()))
        } catch {
            logger.critical("bad arguments", metadata: ["error.detail": "\(error)", "usage": "\(Options.usage)"])
            exit(64)
        }
        requireSchema(databaseURL: configuration.databaseURL, program: "vercel-\(group.name)", logger: logger)
        let fd: Int32
        do {
            fd = try options.socket.open()
        } catch {
            logger.critical("cannot listen", metadata: ["error.detail": "\(error)"])
            exit(71)
        }
        // Each request waiting for an upstream worker holds its connection from nginx open: allow
        // as many descriptors as the system lets this process have.
        var files = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &files) == 0, files.rlim_cur < files.rlim_max {
            files.rlim_cur = files.rlim_max
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &files)
        }
        // Routes that may call Vercel are served by workers of their own, so a slow Vercel never
        // holds a worker the database-only routes need; a group without such routes needs none.
        let reachesVercel = group.router(faultRoutes: configuration.faultRoutesEnabled).routes.contains {
            $0.reach == .upstream
        }
        let upstreamWorkers = reachesVercel ? options.upstreamWorkers ?? options.workers : 0
        let server = FastCGIServer(
            listenFD: fd, workers: options.workers, upstreamWorkers: upstreamWorkers,
            upstreamQueue: options.upstreamQueue, logger: logger)
        // One per process: each connection's calls to Vercel in flight, across the workers.
        let bulkhead = VercelBulkhead(
            limit: configuration.isolation.callsPerConnection, wait: configuration.isolation.busyWait)
        // An accepting worker serving only local routes cannot reach Vercel at all: a route that
        // is declared local and calls Vercel fails loudly instead of stalling the others.
        let acceptingServesAll = reachesVercel && upstreamWorkers == 0
        server.run { role in
            group.application(
                configuration: configuration, logger: logger, bulkhead: bulkhead,
                reachesVercel: role == .upstream || acceptingServesAll
            ).0
        }
        // `_exit`, not `exit`: workers parked by the crash guard, and dispatch's threads, are still
        // alive, and the exit-time destructors `exit` runs under them can fault (seen after seven
        // parked workers). Every log line is already written (one `write` each); nothing is buffered.
        _exit(server.exitStatus)
    }

    /// Serves nothing on a schema older than the one this build needs: one critical line and exit 78,
    /// which the unit does not restart on (`RestartPreventExitStatus=78`). A database that does not
    /// answer is asked again for 15 s, then exit 75: systemd starts the function again a second later,
    /// and the socket keeps nginx's connections waiting meanwhile.
    static func requireSchema(databaseURL: String, program: String, logger: Logger) {
        let deadline = ContinuousClock.now + .seconds(15)
        while true {
            let database = PostgresConnection(
                .init(
                    url: databaseURL, statementTimeout: .seconds(5), connectTimeoutSeconds: 3, applicationName: program)
            )
            defer { database.close() }
            do {
                let verdict = try SchemaGate.check(database)
                guard verdict == .ready else {
                    logger.critical(
                        "refusing to serve: \(verdict)",
                        metadata: ["release": "\(Release.version)", "schema.needed": "\(Release.schema)"])
                    exit(78)
                }
                return
            } catch {
                guard ContinuousClock.now < deadline else {
                    logger.critical(
                        "cannot read the database's schema version", metadata: ["error.detail": "\(error)"])
                    exit(75)
                }
                usleep(500_000)
            }
        }
    }

    struct Options {
        var socket: ListenSocket = .inherited
        var workers = 4
        /// Workers for the routes that may call Vercel; as many as `workers` unless given.
        var upstreamWorkers: Int?
        /// How many of those requests may wait for one of those workers; past it, 503 at once.
        var upstreamQueue = 1024

        static let usage = "[--socket PATH] [--workers N] [--upstream-workers N] [--upstream-queue N]"

        init(parsing arguments: [String]) throws {
            var rest = arguments[...]
            while let argument = rest.popFirst() {
                switch argument {
                case "--socket":
                    guard let path = rest.popFirst(), !path.isEmpty else { throw OptionError("--socket needs a path") }
                    socket = .path(path)
                case "--workers":
                    guard let text = rest.popFirst(), let count = Int(text), (1...256).contains(count) else {
                        throw OptionError("--workers needs a number from 1 to 256")
                    }
                    workers = count
                case "--upstream-workers":
                    guard let text = rest.popFirst(), let count = Int(text), (0...256).contains(count) else {
                        throw OptionError("--upstream-workers needs a number from 0 to 256")
                    }
                    upstreamWorkers = count
                case "--upstream-queue":
                    guard let text = rest.popFirst(), let count = Int(text), (1...4096).contains(count) else {
                        throw OptionError("--upstream-queue needs a number from 1 to 4096")
                    }
                    upstreamQueue = count
                default:
                    throw OptionError("unknown argument \(argument)")
                }
            }
        }
    }

    struct OptionError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
