import Glibc
import Kernel

// vercel-job: every maintenance job in one executable, each run by the name it is called by: the
// links vercel-job-<name> (the units, cron's file, the tests) run that job once. One binary rather
// than twelve: each carries the Swift standard library and Foundation, linked in statically.
let jobs: [(name: String, main: () -> Never)] = [
    ("nonce-prune", NoncePruneJob.main),
    ("partitions", PartitionsJob.main),
    ("token-refresh", TokenRefreshJob.main),
    ("webhook-retry", WebhookRetryJob.main),
    ("webhook-cleanup", WebhookCleanupJob.main),
    ("alerts", AlertsJob.main),
    ("deployment-sync", DeploymentSyncJob.main),
    ("domain-health", DomainHealthJob.main),
    ("audit-checkpoint", AuditCheckpointJob.main),
    ("rekey", RekeyJob.main),
    ("git-deploy", GitDeployJob.main),
    ("git-feedback", GitFeedbackJob.main),
]

let invoked = CommandLine.arguments.first.map { String($0.split(separator: "/").last ?? "") } ?? ""
if invoked.hasPrefix("vercel-job-"), let job = jobs.first(where: { "vercel-job-" + $0.name == invoked }) {
    job.main()
}
Release.answerVersion(program: "vercel-job")
let usage = "usage: run a job by its link, vercel-job-<name>: \(jobs.map(\.name).joined(separator: ", "))\n"
_ = usage.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
exit(64)
