/// Every metric family the service serves. The README's metrics table is made from this list
/// (`vercel-docs metrics`), and the shipped alerts and dashboard may name only what is here.
extension MetricFamily {
    /// Outbound calls' latency, in seconds: from 10 ms to Vercel's longest answers.
    public static let outboundBuckets: [Double] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

    // MARK: Each function

    public static let up = MetricFamily("sheen_vercel_up", .gauge, "1 while the function answers")
    public static let httpRequests = MetricFamily(
        "sheen_vercel_http_requests_total", .counter, labels: ["route", "method", "status"],
        "Requests answered, by route template (never the raw path), method and status")
    public static let httpDuration = MetricFamily(
        "sheen_vercel_http_request_duration_seconds", .histogram, labels: ["route", "method"],
        buckets: Metrics.durationBuckets,
        "Time to answer a request (for a stream, until it ends), by route template and method")
    public static let webhookEvents = MetricFamily(
        "sheen_vercel_webhook_events_total", .counter, labels: ["source", "outcome"],
        "Webhook deliveries, by source and outcome (applied, duplicate, queued, ignored, rejected, refused, invalid)")
    public static let oauthConnections = MetricFamily(
        "sheen_vercel_oauth_connections_total", .counter, labels: ["outcome"],
        "OAuth callbacks, by outcome: connected (or held for confirmation), declined (the person or the request: an unknown state, a refusal at Vercel), failed (the service or Vercel)"
    )
    public static let upstreamDepth = MetricFamily(
        "sheen_vercel_upstream_queue_depth", .gauge,
        "Requests for routes that may call Vercel waiting for an upstream worker")
    public static let upstreamBusy = MetricFamily(
        "sheen_vercel_upstream_workers_busy", .gauge, "Upstream workers serving a request")
    public static let upstreamSlow = MetricFamily(
        "sheen_vercel_upstream_tenants_slow", .gauge,
        "Tenants whose recent answers were slow: kept off the reserve of upstream workers")
    public static let upstreamRefused = MetricFamily(
        "sheen_vercel_upstream_refused_total", .counter,
        "Requests answered 503 UPSTREAM_BUSY at once because the upstream queue was full")

    public static let logPumps = MetricFamily(
        "sheen_vercel_log_pumps", .gauge,
        "Build log pumps this process runs: each follows one deployment's events from Vercel for all its readers")
    public static let runtimeLogPumps = MetricFamily(
        "sheen_vercel_runtime_log_pumps", .gauge,
        "Runtime log pumps this process runs: each follows one deployment's runtime logs from Vercel for all its readers"
    )

    // MARK: Each function and the jobs

    public static let outboundRequests = MetricFamily(
        "sheen_vercel_outbound_requests_total", .counter, labels: ["remote", "endpoint", "method", "status_class"],
        scope: .processAndJobs,
        "Calls to Vercel, the git hosts and the alert receiver (remote vercel, github, gitlab, bitbucket, alerts), by remote, endpoint template (never an id), method and status class (2xx…5xx, or error when no answer came)"
    )
    public static let outboundDuration = MetricFamily(
        "sheen_vercel_outbound_request_duration_seconds", .histogram, labels: ["remote", "endpoint", "method"],
        scope: .processAndJobs, buckets: outboundBuckets, "Time each outbound attempt took")
    public static let outboundRetries = MetricFamily(
        "sheen_vercel_outbound_retries_total", .counter, labels: ["remote", "endpoint"], scope: .processAndJobs,
        "Outbound attempts made again after a failure")
    public static let outboundRateLimited = MetricFamily(
        "sheen_vercel_outbound_rate_limited_total", .counter, labels: ["remote", "endpoint"], scope: .processAndJobs,
        "Answers 429 (or a git host's exhausted rate limit) from a remote")
    public static let outboundRateLimitWait = MetricFamily(
        "sheen_vercel_outbound_rate_limit_wait_seconds_total", .counter, labels: ["remote"], scope: .processAndJobs,
        "Seconds the remotes asked this service to wait (Retry-After, X-RateLimit-Reset)")
    public static let breakerTransitions = MetricFamily(
        "sheen_vercel_circuit_breaker_transitions_total", .counter, labels: ["to"], scope: .processAndJobs,
        "Vercel circuit breakers that changed state, by the state they entered (open, closed)")
    public static let tokenRefreshes = MetricFamily(
        "sheen_vercel_token_refreshes_total", .counter, labels: ["outcome"], scope: .processAndJobs,
        "Vercel token refreshes, by outcome (refreshed, failed)")
    public static let deploymentsFinished = MetricFamily(
        "sheen_vercel_deployments_finished_total", .counter, labels: ["outcome"], scope: .processAndJobs,
        "Deployments whose build ended, by outcome (ready, error, canceled), counted once when the end is recorded")
    public static let deploymentChecks = MetricFamily(
        "sheen_vercel_deployment_checks_total", .counter, labels: ["conclusion"], scope: .processAndJobs,
        "Deployments' smoke checks run to a conclusion, by conclusion (succeeded, failed)")
    public static let productionWatches = MetricFamily(
        "sheen_vercel_production_watches_total", .counter, labels: ["outcome"], scope: .processAndJobs,
        "Promotions watched to an end, by outcome (passed, rolled_back, held: failing but not rolled back, superseded)")
    public static let itemsSkipped = MetricFamily(
        "sheen_vercel_items_skipped_total", .counter, labels: ["kind"], scope: .processAndJobs,
        "Items of Vercel's lists this service could not read and skipped, by kind")

    // MARK: The process (the names every Prometheus client library uses)

    public static let processStart = MetricFamily(
        "process_start_time_seconds", .gauge, "When the process started (Unix time)")
    public static let processCPU = MetricFamily(
        "process_cpu_seconds_total", .counter, "User and system CPU time the process spent")
    public static let processResident = MetricFamily(
        "process_resident_memory_bytes", .gauge, "Resident memory of the process")
    public static let processVirtual = MetricFamily(
        "process_virtual_memory_bytes", .gauge, "Virtual memory of the process")
    public static let processOpenFDs = MetricFamily("process_open_fds", .gauge, "Open file descriptors")
    public static let processMaxFDs = MetricFamily("process_max_fds", .gauge, "The limit on open file descriptors")

    // MARK: Once per host

    public static let databaseUp = MetricFamily(
        "sheen_vercel_database_up", .gauge, scope: .host, "1 when the database answered the host's queries")
    public static let outboxJobs = MetricFamily(
        "sheen_vercel_outbox_jobs", .gauge, labels: ["kind", "status"], scope: .host,
        "Work in vercel_jobs, by kind and status (pending, running, dead: a dead letter)")
    public static let outboxOldest = MetricFamily(
        "sheen_vercel_outbox_oldest_age_seconds", .gauge, labels: ["kind"], scope: .host,
        "Age of the oldest pending work, by kind")
    public static let circuitBreakers = MetricFamily(
        "sheen_vercel_circuit_breakers", .gauge, labels: ["state"], scope: .host,
        "Connections whose Vercel breaker is open or closed")
    public static let jobRuns = MetricFamily(
        "sheen_vercel_job_runs_total", .counter, labels: ["job_name", "outcome"], scope: .host,
        "Runs of each maintenance job, by outcome (done, failed, skipped)")
    public static let jobLastDuration = MetricFamily(
        "sheen_vercel_job_last_duration_seconds", .gauge, labels: ["job_name"], scope: .host,
        "How long each job's last completed run took")
    public static let jobLastRun = MetricFamily(
        "sheen_vercel_job_last_run_timestamp_seconds", .gauge, labels: ["job_name"], scope: .host,
        "When each job last ran, whatever its outcome (Unix time)")
    public static let jobLastSuccess = MetricFamily(
        "sheen_vercel_job_last_success_timestamp_seconds", .gauge, labels: ["job_name"], scope: .host,
        "When each job last did its work (Unix time; the install's time if it never has)")
    public static let jobPeriod = MetricFamily(
        "sheen_vercel_job_period_seconds", .gauge, labels: ["job_name"], scope: .host,
        "How often each job is scheduled (the timers' and cron's period)")
    public static let auditCheckpointAge = MetricFamily(
        "sheen_vercel_audit_checkpoint_age_seconds", .gauge, scope: .host,
        "Time since the audit chain's head was last checkpointed (since the install, if never)")
    public static let nginxRefusals = MetricFamily(
        "sheen_vercel_nginx_refusals_total", .counter, labels: ["status"], scope: .host,
        "Requests nginx answered itself, without a function: malformed (400), refused by an allow-list (403), too large (413, 414), too many (429), no function answering (503)"
    )

    public static let catalog: [MetricFamily] = [
        up, httpRequests, httpDuration, webhookEvents, oauthConnections, upstreamDepth, upstreamBusy, upstreamSlow,
        upstreamRefused, logPumps, runtimeLogPumps, outboundRequests, outboundDuration, outboundRetries,
        outboundRateLimited,
        outboundRateLimitWait,
        breakerTransitions, tokenRefreshes, deploymentsFinished, deploymentChecks, productionWatches, itemsSkipped,
        processStart,
        processCPU,
        processResident, processVirtual, processOpenFDs, processMaxFDs, databaseUp, outboxJobs, outboxOldest,
        circuitBreakers, jobRuns, jobLastDuration, jobLastRun, jobLastSuccess, jobPeriod, auditCheckpointAge,
        nginxRefusals,
    ]

    /// The README's metrics table.
    public static func markdownTable() -> String {
        var lines = ["| metric | type | served by | what |", "|---|---|---|---|"]
        for family in catalog {
            let labels = family.labels.isEmpty ? "" : "{\(family.labels.joined(separator: ","))}"
            let scope =
                switch family.scope {
                case .process: "each function"
                case .processAndJobs: "each function; the jobs' on the host's"
                case .host: "the host's"
                }
            lines.append(
                "| `\(family.name)\(labels)` | \(family.kind.rawValue) | \(scope) | \(family.help.replacingPipes) |")
        }
        return lines.joined(separator: "\n")
    }
}

extension String {
    fileprivate var replacingPipes: String {
        split(separator: "|", omittingEmptySubsequences: false).joined(separator: "\\|")
    }
}
