import Kernel
import Logging

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// The one way to Vercel's REST API. Each call: the connection's circuit breaker is asked first
/// (before every attempt), the request goes with the connection's token and `teamId`, failures are
/// retried as `RetryPolicy` allows, every attempt is logged, and a 401 refreshes the token once.
///
/// One instance per worker thread, like the transport and the database connection under it.
public final class VercelClient {
    public struct Configuration: Sendable {
        public var apiBaseURL: String
        public var retry: RetryPolicy
        public var breaker: CircuitBreaker
        public var connectTimeout: Duration
        public var totalTimeout: Duration
        /// Limits the calls one connection has in flight in this process; nil: no limit.
        public var bulkhead: VercelBulkhead?

        public init(
            apiBaseURL: String = "https://api.vercel.com", retry: RetryPolicy = RetryPolicy(),
            breaker: CircuitBreaker = CircuitBreaker(), connectTimeout: Duration = .seconds(5),
            totalTimeout: Duration = .seconds(30), bulkhead: VercelBulkhead? = nil
        ) {
            self.apiBaseURL = apiBaseURL.hasSuffix("/") ? String(apiBaseURL.dropLast()) : apiBaseURL
            self.retry = retry
            self.breaker = breaker
            self.connectTimeout = connectTimeout
            self.totalTimeout = totalTimeout
            self.bulkhead = bulkhead
        }
    }

    /// Whose call it is: the token, the team it acts for, and the connection whose breaker guards it.
    /// Not Sendable: `refresh` runs on the calling thread and may use that thread's database.
    public struct Credentials {
        public var accessToken: String
        public var teamID: String?
        public var connectionID: UUID?
        /// Called once after a 401 for a fresh token; nil means none can be had.
        public var refresh: (() throws -> String?)?
        /// The connection's breaker as it was read with the token, if it was.
        public var breaker: CircuitBreakers.Snapshot?
        /// The logger of the request the calls are made for (it carries the request id); the
        /// client's own when nil.
        public var logger: Logger?
        /// The permission the calls need: Vercel's 403 then means the connection lacks it.
        public var requiredScope: String?

        public init(
            accessToken: String, teamID: String? = nil, connectionID: UUID? = nil,
            breaker: CircuitBreakers.Snapshot? = nil, logger: Logger? = nil,
            refresh: (() throws -> String?)? = nil
        ) {
            self.accessToken = accessToken
            self.teamID = teamID
            self.connectionID = connectionID
            self.breaker = breaker
            self.logger = logger
            self.refresh = refresh
        }
    }

    /// One call of the API.
    public struct Endpoint: Sendable {
        public var method: String
        public var path: String
        /// The path with its parameters as `{}`: what the call is measured under.
        public var template: String
        public var query: [(String, String)]
        public var body: [UInt8]
        public var headers: [(String, String)]
        /// Whether repeating the call has the same effect as making it once.
        public var idempotent: Bool

        public init(
            _ method: String, _ path: EndpointPath, query: [(String, String)] = [], body: [UInt8] = [],
            headers: [(String, String)] = [], idempotent: Bool? = nil
        ) {
            self.method = method
            self.path = path.path
            self.template = path.template
            self.query = query
            self.body = body
            self.headers = headers
            self.idempotent = idempotent ?? ["GET", "HEAD", "PUT", "DELETE"].contains(method)
        }

        /// An endpoint whose body is `value` as JSON.
        public static func json(
            _ method: String, _ path: EndpointPath, query: [(String, String)] = [], _ value: some Encodable,
            idempotent: Bool? = nil
        ) throws -> Endpoint {
            Endpoint(
                method, path, query: query, body: Array(try JSONEncoder().encode(value)),
                headers: [("Content-Type", "application/json")], idempotent: idempotent)
        }
    }

    public let configuration: Configuration
    /// When the request these calls serve must be answered by (its time budget); nil for none.
    /// No call starts, and no retry waits, past it, and each attempt's timeout ends at it.
    public var deadline: ContinuousClock.Instant?
    private let transport: any HTTPTransport
    private let breakers: CircuitBreakers?
    let logger: Logger
    private let sleep: (Duration) -> Void
    private var random = SystemRandomNumberGenerator()
    /// A transport for each of a file deployment's upload threads.
    let makeUploadTransport: @Sendable () -> any HTTPTransport

    /// - Parameters:
    ///   - breakers: where the breakers live; nil runs without one (calls without a connection).
    ///   - sleep: how waits between attempts are spent (tests may record them instead).
    ///   - makeUploadTransport: how the upload threads of a file deployment reach Vercel, one
    ///     transport each (tests pass a scripted one).
    public init(
        configuration: Configuration, transport: any HTTPTransport, breakers: CircuitBreakers?, logger: Logger,
        sleep: @escaping (Duration) -> Void = VercelClient.sleep,
        makeUploadTransport: @escaping @Sendable () -> any HTTPTransport = { CurlTransport() }
    ) {
        self.configuration = configuration
        self.makeUploadTransport = makeUploadTransport
        self.transport = transport
        self.breakers = breakers
        self.logger = logger
        self.sleep = sleep
    }

    public static func sleep(_ duration: Duration) {
        let micros = duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
        if micros > 0 { usleep(useconds_t(micros)) }
    }

    /// Sends `endpoint` and decodes the JSON answer as `T`.
    public func call<T: Decodable>(
        _ endpoint: Endpoint, as type: T.Type = T.self, credentials: Credentials
    ) throws(VercelError) -> T {
        let response = try send(endpoint, credentials: credentials)
        do {
            return try JSONDecoder().decode(T.self, from: Data(response.body))
        } catch {
            throw .invalidResponse("\(endpoint.method) \(endpoint.path) answered JSON that is not a \(T.self)")
        }
    }

    /// The items of `list` that could be read; each one that could not is logged by its id and
    /// counted under `kind` (`sheen_vercel_items_skipped_total` on /metrics).
    func readable<Item>(_ list: LossyList<Item>, _ kind: String, _ credentials: Credentials) -> [Item] {
        if !list.skipped.isEmpty {
            (credentials.logger ?? logger).warning(
                "Vercel sent list items this service cannot read; they are skipped",
                metadata: ["vercel.item.kind": "\(kind)", "vercel.item.ids": "\(list.skipped.prefix(20))"])
            VercelDecoding.countSkipped(kind, list.skipped.count)
        }
        return list.items
    }

    /// Sends `endpoint` and returns Vercel's successful answer.
    public func send(
        _ endpoint: Endpoint, credentials: Credentials
    ) throws(VercelError) -> HTTPResponse {
        var token = credentials.accessToken
        var refreshed = false
        var attempt = 0
        var breaker = credentials.breaker
        try enterBulkhead(credentials.connectionID)
        defer { leaveBulkhead(credentials.connectionID) }
        while true {
            attempt += 1
            try admit(credentials.connectionID, &breaker)
            let started = ContinuousClock.now
            let outcome: Result<HTTPResponse, HTTPTransportError>
            var request = request(for: endpoint, token: token, teamID: credentials.teamID)
            guard request.clip(to: deadline) else { throw .outOfTime }
            do {
                outcome = .success(try transport.send(request))
            } catch {
                outcome = .failure(error)
            }
            let elapsed = ContinuousClock.now - started
            log(endpoint, outcome, elapsed: elapsed, attempt: attempt, to: credentials.logger ?? logger)
            measure(endpoint, outcome, elapsed: elapsed)
            record(outcome, credentials.connectionID, &breaker)

            let decision: RetryPolicy.Decision
            switch outcome {
            case .success(let response) where (200..<300).contains(response.status):
                return response
            case .success(let response) where response.status == 401 && !refreshed && credentials.refresh != nil:
                refreshed = true
                guard let fresh = try? credentials.refresh?() else {
                    throw Self.apiError(response, requiredScope: credentials.requiredScope)
                }
                token = fresh
                attempt -= 1
                continue
            case .success(let response):
                decision = configuration.retry.decide(
                    attempt: attempt, idempotent: endpoint.idempotent,
                    outcome: .response(
                        status: response.status, retryAfter: RetryPolicy.requestedWait(in: response, now: Date())),
                    random: &random)
                if decision == .giveUp { throw Self.apiError(response, requiredScope: credentials.requiredScope) }
            case .failure(let error):
                decision = configuration.retry.decide(
                    attempt: attempt, idempotent: endpoint.idempotent, outcome: .transport(error), random: &random)
                if decision == .giveUp { throw .unreachable(error) }
            }
            switch decision {
            case .retry(let wait):
                if let deadline, ContinuousClock.now + wait >= deadline { throw .outOfTime }
                Outbound.retried(remote: "vercel", endpoint: endpoint.template)
                sleep(wait)
            case .rateLimited(let wait): throw .rateLimited(retryAfter: wait)
            case .giveUp: preconditionFailure("handled above")
            }
        }
    }

    /// Sends `endpoint` once and streams a 2xx body to `onData` (with `onTick` about once a second,
    /// see `HTTPTransport.stream`); Vercel's error otherwise.
    func stream(
        _ endpoint: Endpoint, credentials: Credentials, onTick: () -> Bool = { true },
        onData: ([UInt8]) -> Bool
    ) throws(VercelError) {
        var breaker = credentials.breaker
        try enterBulkhead(credentials.connectionID)
        defer { leaveBulkhead(credentials.connectionID) }
        try admit(credentials.connectionID, &breaker)
        var request = request(for: endpoint, token: credentials.accessToken, teamID: credentials.teamID)
        request.totalTimeout = .seconds(3600)
        let started = ContinuousClock.now
        let outcome: Result<HTTPResponse, HTTPTransportError>
        do {
            outcome = .success(try transport.stream(request, onData: onData, onTick: onTick))
        } catch {
            outcome = .failure(error)
        }
        let elapsed = ContinuousClock.now - started
        log(endpoint, outcome, elapsed: elapsed, attempt: 1, to: credentials.logger ?? logger)
        measure(endpoint, outcome, elapsed: elapsed)
        record(outcome, credentials.connectionID, &breaker)
        switch outcome {
        case .success(let response) where (200..<300).contains(response.status): return
        case .success(let response): throw Self.apiError(response, requiredScope: credentials.requiredScope)
        case .failure(let error): throw .unreachable(error)
        }
    }

    private func enterBulkhead(_ connection: UUID?) throws(VercelError) {
        guard let connection, let bulkhead = configuration.bulkhead else { return }
        guard bulkhead.enter(connection) else { throw .busy(retryAfter: .seconds(1)) }
    }

    private func leaveBulkhead(_ connection: UUID?) {
        guard let connection, let bulkhead = configuration.bulkhead else { return }
        bulkhead.leave(connection)
    }

    private func request(for endpoint: Endpoint, token: String, teamID: String?) -> HTTPRequest {
        var query = endpoint.query
        if let teamID { query.append(("teamId", teamID)) }
        var url = configuration.apiBaseURL + endpoint.path
        if !query.isEmpty {
            url += "?" + query.map { "\(QueryString.encode($0.0))=\(QueryString.encode($0.1))" }.joined(separator: "&")
        }
        var headers = endpoint.headers
        headers.append(("Authorization", "Bearer \(token)"))
        headers.append(("Accept", "application/json"))
        return HTTPRequest(
            method: endpoint.method, url: url, headers: headers, body: endpoint.body,
            connectTimeout: configuration.connectTimeout, totalTimeout: configuration.totalTimeout)
    }

    private func admit(_ connection: UUID?, _ known: inout CircuitBreakers.Snapshot?) throws(VercelError) {
        guard let connection, let breakers else { return }
        let admission: CircuitBreaker.Admission
        do {
            admission = try breakers.admit(connection, known: &known)
        } catch {
            // A breaker that cannot be read must not stop the call: log and let it through.
            logger.warning("circuit breaker unavailable", metadata: ["error.detail": "\(error)"])
            return
        }
        if case .rejected(let wait) = admission { throw .circuitOpen(retryAfter: wait) }
        if admission == .probe {
            logger.info("circuit half-open: probing", metadata: ["connection.id": "\(connection)"])
        }
    }

    private func record(
        _ outcome: Result<HTTPResponse, HTTPTransportError>, _ connection: UUID?,
        _ known: inout CircuitBreakers.Snapshot?
    ) {
        guard let connection, let breakers else { return }
        let result: CircuitBreaker.Result
        switch outcome {
        case .success(let response) where response.status == 429: result = .neutral
        case .success(let response) where response.status >= 500: result = .failure
        case .success: result = .success
        case .failure(.responseTooLarge): result = .neutral
        case .failure: result = .failure
        }
        do {
            try breakers.record(result, for: connection, known: &known)
        } catch {
            logger.warning("circuit breaker unavailable", metadata: ["error.detail": "\(error)"])
        }
    }

    /// The attempt on /metrics: its endpoint's template, status class and time, and a 429 with the
    /// wait Vercel asked for.
    private func measure(_ endpoint: Endpoint, _ outcome: Result<HTTPResponse, HTTPTransportError>, elapsed: Duration) {
        let response = try? outcome.get()
        Outbound.record(
            remote: "vercel", endpoint: endpoint.template, method: endpoint.method, status: response?.status,
            seconds: elapsed.seconds)
        if let response, response.status == 429 {
            Outbound.rateLimited(
                remote: "vercel", endpoint: endpoint.template,
                wait: RetryPolicy.requestedWait(in: response, now: Date()))
        }
    }

    private func log(
        _ endpoint: Endpoint, _ outcome: Result<HTTPResponse, HTTPTransportError>, elapsed: Duration, attempt: Int,
        to logger: Logger
    ) {
        var metadata: Logger.Metadata = [
            "vercel.method": "\(endpoint.method)", "vercel.path": "\(endpoint.path)",
            "vercel.attempt": .stringConvertible(attempt),
            "duration.ms": .stringConvertible(elapsed.milliseconds),
        ]
        switch outcome {
        case .success(let response):
            metadata["vercel.status"] = .stringConvertible(response.status)
            logger.log(
                level: response.status >= 500 || response.status == 429 ? .warning : .info, "vercel call",
                metadata: metadata)
        case .failure(let error):
            metadata["error.detail"] = "\(error)"
            logger.warning("vercel call failed", metadata: metadata)
        }
    }

    /// Vercel's `{"error": {"code", "message"}}`, or a description of a body without one.
    /// - Parameter requiredScope: the permission the call needed; a 403 that is not about the token
    ///   itself is then `forbidden` (the connection lacks it).
    static func apiError(_ response: HTTPResponse, requiredScope: String? = nil) -> VercelError {
        struct Body: Decodable {
            struct Detail: Decodable {
                let code: String?
                let message: String?
                let missing: [String]?
                let invalidToken: Bool?
            }
            let error: Detail?
        }
        let detail = (try? JSONDecoder().decode(Body.self, from: Data(response.body)))?.error
        if detail?.code == "missing_files", let missing = detail?.missing { return .missingFiles(missing) }
        if response.status == 401 || detail?.invalidToken == true {
            return .unauthorized(status: response.status, message: detail?.message ?? "Vercel refused the token")
        }
        if response.status == 403, let requiredScope {
            return .forbidden(requiredScope: requiredScope, message: detail?.message ?? "Vercel refused the permission")
        }
        return .api(
            status: response.status, code: detail?.code ?? "http_\(response.status)",
            message: detail?.message ?? "Vercel answered \(response.status)")
    }
}
