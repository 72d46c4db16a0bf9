import Foundation
import Logging
import Platform
import PlatformHost
import Postgres
import Vercel

// vercel-job-domain-health (every minute): checks the custom domains that are due, and only those:
// asks Vercel to verify a pending one, then reads the domain and its DNS configuration. A pending or broken domain is checked a minute after it changed, then after a wait that doubles up
// to six hours; an active one hourly; a domain still unverified after seven days is abandoned (its
// final state) and no longer checked. Each change of state is one history row and one
// `domain.status_changed` alert. Up to four runs (on several hosts) work at once, each claiming its
// own due rows with FOR UPDATE SKIP LOCKED; each run stops claiming after 45 seconds.
enum DomainHealthJob {
    static func main() -> Never {
        OneShotJob.run(
            name: "vercel-job-domain-health", slots: 4, settings: { try ServiceConfiguration.fromEnvironment() },
            work: {
                database, logger, configuration in
                let context = WorkerServices(
                    group: "domain-health", configuration: configuration, logger: logger, database: database)
                let store = DomainStore(database: database)
                let deadline = ContinuousClock.now + .seconds(45)
                var checked = 0
                var changed = 0
                var failed = 0
                while ContinuousClock.now < deadline {
                    let due = try store.claimDue(limit: 50)
                    if due.isEmpty { break }
                    for domain in due {
                        do {
                            let credential = try context.connections.credential(domain.connectionID)
                            let credentials = context.credentials(credential, logger: logger)
                            if domain.status.state == .pending {
                                // Vercel verifies a pending domain when asked; a 400 means its TXT record is not there yet.
                                let asked = Result { () throws(VercelError) -> VercelDomain in
                                    try context.vercel.verifyDomain(
                                        domain.name, projectID: domain.vercelProjectID, credentials)
                                }
                                if case .failure(let error) = asked {
                                    switch error {
                                    case .api(400, _, _), .api(404, _, _): break
                                    default: throw error
                                    }
                                }
                            }
                            var status = try DomainStatus.read(
                                domain.name, vercelProjectID: domain.vercelProjectID, client: context.vercel,
                                credentials)
                            if DomainSchedule.shouldAbandon(status.state, addedAt: domain.createdAt) {
                                status.state = .abandoned
                                status.reason =
                                    "The domain was not verified within 7 days and is no longer checked; create its TXT record, then verify it"
                            }
                            let (_, transition) = try store.observe(domain, status, by: .job)
                            checked += 1
                            if let transition {
                                changed += 1
                                logger.info(
                                    "domain state changed",
                                    metadata: [
                                        "domain": "\(domain.name)", "from": "\(transition.from)",
                                        "to": "\(transition.to.rawValue)",
                                    ])
                            }
                        } catch {
                            failed += 1
                            try store.checkFailed(domain, reason: "\(error)")
                            logger.warning(
                                "domain not checked",
                                metadata: ["domain": "\(domain.name)", "error.detail": "\(error)"])
                        }
                    }
                }
                return [
                    "domains.checked": .stringConvertible(checked), "domains.changed": .stringConvertible(changed),
                    "domains.failed": .stringConvertible(failed),
                ]
            })
    }
}
