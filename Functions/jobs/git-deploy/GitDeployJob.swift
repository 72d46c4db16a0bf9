import Foundation
import Kernel
import Platform
import PlatformHost
import Postgres

// vercel-job-git-deploy (every minute): decides again the git deliveries whose deployment failed
// when they came (Vercel unreachable or refusing, the connection needing a refresh): the rules as
// they are now, then the approval or the deployment, under the commit's idempotency key. A retry
// that fails again backs off (30 s doubling to an hour); after ten attempts the job is dead and
// shows in `GET /v1/admin/vercel/jobs?status=dead` for operators to retry.
enum GitDeployJob {
    static func main() -> Never {
        OneShotJob.run(
            name: "vercel-job-git-deploy", settings: { try ServiceConfiguration.fromEnvironment() },
            work: {
                database, logger, configuration in
                let context = WorkerServices(
                    group: "git-deploy", configuration: configuration, logger: logger, database: database)
                let queue = JobQueue(kind: "git.deploy", database: database)
                let store = AutoDeployStore(database: database)
                struct Payload: Decodable { let deliveryRowId: Int64 }
                let deadline = ContinuousClock.now + .seconds(45)
                var decided = 0
                var failed = 0
                var gone = 0
                while ContinuousClock.now < deadline {
                    let claimed = try queue.claim(limit: 20)
                    if claimed.isEmpty { break }
                    for job in claimed {
                        guard let payload = try? JSONDecoder().decode(Payload.self, from: Data(job.payload.utf8)),
                            let delivery = try store.failedDelivery(rowID: payload.deliveryRowId)
                        else {
                            // Decided meanwhile (a later delivery deployed the commit) or removed with its project.
                            try queue.done(job)
                            gone += 1
                            continue
                        }
                        let receiver = GitDeliveryReceiver(
                            context: context, projectID: delivery.projectID, logger: logger)
                        // Each retry names its job and attempt on its rows and log lines.
                        let event = try Trace.$requestID.withValue("git-deploy-\(job.id)-\(job.attempt)") {
                            try receiver.retry(delivery)
                        }
                        if let event, event.decision == .failed {
                            try queue.failed(job, reason: event.reason)
                            failed += 1
                        } else {
                            try queue.done(job)
                            decided += 1
                        }
                    }
                }
                return [
                    "deliveries.decided": .stringConvertible(decided), "deliveries.failed": .stringConvertible(failed),
                    "deliveries.gone": .stringConvertible(gone),
                ]
            })
    }
}
