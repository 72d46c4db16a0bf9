import Platform
import PlatformHost

// vercel-job-nonce-prune: forgets platform request nonces older than their lifetime, the nonces of
// admins' signed statements after an hour, and Vercel authorizations nobody confirmed in time
// (every 10 min).
enum NoncePruneJob {
    static func main() -> Never {
        OneShotJob.run(name: "vercel-job-nonce-prune") { database, _ in
            let removed = try database.execute(
                "DELETE FROM vercel_request_nonces WHERE seen_at < now() - make_interval(secs => \(PlatformSignature.nonceLifetimeSeconds))"
            )
            let unconfirmed = try PendingGrants.pruneExpired(database)
            let statements = try AdminKeyStore(database: database).pruneNonces()
            return [
                "nonces.removed": .stringConvertible(removed), "confirmations.removed": .stringConvertible(unconfirmed),
                "statement_nonces.removed": .stringConvertible(statements),
            ]
        }
    }
}
