import Kernel

/// One smoke check a project sets: a path of the deployment, the status it must answer (any 2xx
/// when nil), a text its body must contain, and how long it may take.
public struct SmokeCheck: Codable, Sendable, Equatable {
    public var path: String
    public var expectStatus: Int?
    public var contains: String?
    public var latencyBudgetMs: Int

    public init(path: String, expectStatus: Int? = nil, contains: String? = nil, latencyBudgetMs: Int = 5000) {
        self.path = path
        self.expectStatus = expectStatus
        self.contains = contains
        self.latencyBudgetMs = latencyBudgetMs
    }

    /// What a project without checks of its own gets: its root answers 2xx with a body.
    public static let root = SmokeCheck(path: "/")

    public static let pathLimit = 255
    public static let containsLimit = 200
    public static let latencyBudgets = 100...10_000
    public static let perProject = 10

    /// Why this check cannot be run as set, or nil. A path is absolute and stays on the host: no
    /// scheme, no authority (`//`), no backslash, no control characters, no fragment.
    public var problem: String? {
        guard path.hasPrefix("/"), !path.hasPrefix("//"), path.utf8.count <= Self.pathLimit else {
            return "path must start with one `/` and be at most \(Self.pathLimit) bytes"
        }
        guard
            !path.utf8.contains(where: {
                $0 < 0x21 || $0 > 0x7e || $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "#")
            })
        else { return "path must be printable ASCII without spaces, `\\` or `#`" }
        if let expectStatus, !(100...599).contains(expectStatus) { return "expectStatus must be 100 to 599" }
        if let contains, contains.isEmpty || contains.utf8.count > Self.containsLimit {
            return "contains must be 1 to \(Self.containsLimit) bytes"
        }
        guard Self.latencyBudgets.contains(latencyBudgetMs) else {
            return "latencyBudgetMs must be \(Self.latencyBudgets.lowerBound) to \(Self.latencyBudgets.upperBound)"
        }
        return nil
    }
}

/// What one probe found.
public struct ProbeResult: Codable, Sendable, Equatable {
    public let path: String
    /// The status of the last answer; nil when none came.
    public let status: Int?
    public let durationMs: Int
    public let passed: Bool
    /// Why it failed, for a person; nil when it passed.
    public let reason: String?
}

/// Probes a deployment's own host, and only it: https to the host Vercel gave the deployment, only
/// public addresses, no proxy, a redirect followed only when it stays on that host (at most three),
/// each check bounded in time (its latency budget, at most ten seconds) and in the body read.
public struct DeploymentProbe {
    let transport: any HTTPTransport
    /// Dev and tests: `address:port` reached over plain http for every deployment host (the
    /// simulator), which lifts the public-address and https rules; nil in production.
    let via: String?

    public static let bodyLimit = 256 << 10
    public static let redirectLimit = 3

    public init(transport: any HTTPTransport, via: String? = nil) {
        self.transport = transport
        self.via = via
    }

    /// The host of a deployment URL as Vercel gives it (`name-hash.vercel.app`, with or without
    /// `https://`), or nil when it is not a plain DNS name.
    public static func host(ofDeploymentURL url: String) -> String? {
        var host = Substring(url.lowercased())
        if host.hasPrefix("https://") { host = host.dropFirst(8) }
        if host.hasSuffix("/") { host = host.dropLast() }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        guard host.utf8.count <= 253, labels.count >= 2,
            labels.allSatisfy({ label in
                !label.isEmpty && label.utf8.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                    && label.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2d }
            }),
            // An address is not a deployment's host.
            !labels.last!.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 })
        else { return nil }
        return String(host)
    }

    public func run(_ checks: [SmokeCheck], host: String) -> [ProbeResult] {
        checks.map { probe($0, host: host) }
    }

    public func probe(_ check: SmokeCheck, host: String) -> ProbeResult {
        let started = ContinuousClock.now
        let budget = Duration.milliseconds(min(check.latencyBudgetMs, 10_000))
        func result(_ status: Int?, _ reason: String?) -> ProbeResult {
            ProbeResult(
                path: check.path, status: status, durationMs: Int((ContinuousClock.now - started).milliseconds),
                passed: reason == nil, reason: reason)
        }
        if let problem = check.problem { return result(nil, problem) }
        var path = check.path
        for _ in 0...Self.redirectLimit {
            let left = budget - (ContinuousClock.now - started)
            guard left > HTTPRequest.shortestExchange else {
                return result(nil, "no answer within \(check.latencyBudgetMs) ms")
            }
            var request = HTTPRequest(
                method: "GET", url: (via == nil ? "https://" : "http://") + host + path,
                headers: [("User-Agent", "sheen-vercel-smoke-check"), ("Accept", "*/*")],
                connectTimeout: min(left, .seconds(3)), totalTimeout: left)
            if let via {
                request.connectTo = "\(host):80:\(via)"
            } else {
                request.publicOnly = true
            }
            var body: [UInt8] = []
            let response: HTTPResponse
            do {
                response = try transport.stream(
                    request,
                    onData: { piece in
                        body.append(contentsOf: piece.prefix(Self.bodyLimit - body.count))
                        return body.count < Self.bodyLimit
                    }, onTick: { true })
            } catch .timedOut {
                return result(nil, "no answer within \(check.latencyBudgetMs) ms")
            } catch .connectFailed {
                return result(nil, "the deployment's host could not be reached")
            } catch {
                return result(nil, "the request failed")
            }
            if (200..<300).contains(response.status) == false { body = Array(response.body.prefix(Self.bodyLimit)) }
            if (300..<400).contains(response.status), check.expectStatus != response.status {
                guard let location = response.header("location"), let next = Self.sameHostPath(location, host: host)
                else {
                    return result(response.status, "redirected away from the deployment's host; not followed")
                }
                path = next
                continue
            }
            let elapsed = ContinuousClock.now - started
            if let expected = check.expectStatus, response.status != expected {
                return result(response.status, "answered \(response.status), expected \(expected)")
            }
            if check.expectStatus == nil, !(200..<300).contains(response.status) {
                return result(response.status, "answered \(response.status), expected 2xx")
            }
            if check.contains == nil, check.expectStatus == nil, body.isEmpty {
                return result(response.status, "answered an empty body")
            }
            if let wanted = check.contains, !Self.bytes(body, contain: Array(wanted.utf8)) {
                return result(response.status, "the body does not contain the expected text")
            }
            if elapsed > .milliseconds(check.latencyBudgetMs) {
                return result(response.status, "took longer than \(check.latencyBudgetMs) ms")
            }
            return result(response.status, nil)
        }
        return result(nil, "more than \(Self.redirectLimit) redirects")
    }

    /// The path a redirect leads to when it stays on `host` (relative, or absolute https to the
    /// same host and default port); nil for anywhere else.
    public static func sameHostPath(_ location: String, host: String) -> String? {
        guard location.utf8.count <= 2048 else { return nil }
        if location.hasPrefix("/"), !location.hasPrefix("//"), !location.contains("\\") {
            return location
        }
        let prefix = "https://" + host
        guard location.lowercased().hasPrefix(prefix) else { return nil }
        let rest = location.dropFirst(prefix.count)
        if rest.isEmpty { return "/" }
        guard rest.hasPrefix("/"), !rest.contains("\\") else { return nil }
        return String(rest)
    }

    public static func bytes(_ haystack: [UInt8], contain needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return needle.isEmpty }
        for start in 0...(haystack.count - needle.count)
        where haystack[start] == needle[0] && haystack[start..<start + needle.count].elementsEqual(needle) {
            return true
        }
        return false
    }
}
