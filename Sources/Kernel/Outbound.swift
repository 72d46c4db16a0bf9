/// What the service records of each call it makes to another service: Vercel, a git host, an
/// alert receiver. The endpoint is a template (`/v13/deployments/{}`): never an id, a name or a
/// query, so the series stay few.
public enum Outbound {
    /// One attempt: its answer's status (nil when none came) and how long it took.
    public static func record(
        remote: String, endpoint: String, method: String, status: Int?, seconds: Double,
        metrics: Metrics = .shared
    ) {
        metrics.increment(.outboundRequests, [remote, endpoint, method, statusClass(status)])
        metrics.observe(.outboundDuration, [remote, endpoint, method], seconds)
    }

    /// An attempt about to be made again.
    public static func retried(remote: String, endpoint: String, metrics: Metrics = .shared) {
        metrics.increment(.outboundRetries, [remote, endpoint])
    }

    /// A remote's refusal for the rate (a 429, or a git host's spent limit), with the wait it asked for.
    public static func rateLimited(remote: String, endpoint: String, wait: Duration?, metrics: Metrics = .shared) {
        metrics.increment(.outboundRateLimited, [remote, endpoint])
        if let wait { metrics.increment(.outboundRateLimitWait, [remote], by: wait.seconds) }
    }

    /// `2xx` … `5xx`, or `error` when no answer came.
    public static func statusClass(_ status: Int?) -> String {
        guard let status, (100..<600).contains(status) else { return "error" }
        return "\(status / 100)xx"
    }
}

extension Duration {
    /// This duration in seconds, with its fraction.
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
