import Foundation
import Kernel
import Platform
import PlatformHost
import Postgres
import Vercel

// vercel-job-git-feedback (every minute): brings the pull requests and commits whose deployments
// changed up to date on their git provider: one sticky comment per pull request, a commit status
// per project. Work comes from `git.feedback` jobs, one per pull request however many changes
// (a trigger on the deployments queues it); each is serialised by its pull request's advisory lock
// and renders what is stored now. A rate limit waits for its reset; other failures back off
// (30 s doubling); after 12 attempts a job is dead, for operators. A token the provider refuses
// raises `git.reconnect_required`. Two runs (hosts) may work at once; each stops claiming after 45 s.
enum GitFeedbackJob {
    static func main() -> Never {
        OneShotJob.run(
            name: "vercel-job-git-feedback", slots: 2,
            settings: { (try ServiceConfiguration.fromEnvironment(), try GitHostSettings.fromEnvironment()) },
            work: { database, logger, settings in
                let (configuration, hosts) = settings
                let feedback = GitFeedback(
                    database: database, keyRing: configuration.keyRing, hosts: hosts,
                    transport: CurlTransport(), logger: logger)
                let queue = JobQueue(kind: "git.feedback", database: database)
                let alerts = AlertOutbox(database: database)
                let deadline = ContinuousClock.now + .seconds(45)
                var updated = 0
                var calls = 0
                var waiting = 0
                var refused = 0
                while ContinuousClock.now < deadline {
                    let claimed = try queue.claim(limit: 20)
                    if claimed.isEmpty { break }
                    for job in claimed {
                        guard let unit = try? JSONDecoder().decode(GitFeedback.Unit.self, from: Data(job.payload.utf8))
                        else {
                            try queue.dead(job, reason: "the job's payload is not a pull request or commit")
                            continue
                        }
                        switch try feedback.run(unit) {
                        case .done(let made):
                            try queue.done(job, version: unit.version)
                            updated += 1
                            calls += made
                        case .retry(let after, let reason):
                            try queue.failed(job, reason: reason, after: after)
                            waiting += 1
                        case .refused(let reason):
                            try queue.dead(job, reason: reason)
                            try alerts.enqueue(
                                "git.reconnect_required", severity: .warning, userID: unit.ownerId,
                                data: ["provider": unit.provider, "repository": unit.repository, "reason": reason],
                                dedupKey:
                                    "git.reconnect_required:\(unit.ownerId):\(unit.provider):\(unit.repository.lowercased())"
                            )
                            refused += 1
                        }
                    }
                }
                return [
                    "units.updated": .stringConvertible(updated), "provider.calls": .stringConvertible(calls),
                    "units.waiting": .stringConvertible(waiting),
                    "units.refused": .stringConvertible(refused),
                ]
            })
    }
}
