/// How often each maintenance job is scheduled: what the systemd timers and cron's file say
/// (`deploy/systemd/*.timer`, `deploy/cron/sheen-vercel`; a test checks they agree). The host's
/// metrics serve it, so an alert can ask for a job that has not succeeded within twice its period.
public enum JobSchedule {
    public static let periods: [(job: String, seconds: Int)] = [
        ("token-refresh", 60), ("webhook-retry", 60), ("alerts", 60), ("deployment-sync", 60), ("domain-health", 60),
        ("git-deploy", 60), ("git-feedback", 60), ("audit-checkpoint", 300), ("rekey", 600), ("nonce-prune", 600),
        ("webhook-cleanup", 86_400),
        // Monthly: the longest month.
        ("partitions", 31 * 86_400),
    ]
}
