import Foundation
import Logging
import Platform
import PlatformHost
import Postgres

// vercel-job-rekey (every ten minutes, and by hand after a rotation): re-seals every value whose key
// id is not the ring's current one, a batch per transaction with FOR UPDATE SKIP LOCKED, while the
// service keeps serving (the ring still opens the old key meanwhile). Once it reports nothing left,
// the old key can leave TOKEN_ENCRYPTION_KEYS. Values under a key the ring no longer holds are left
// as they are and counted: key recovery is for those.
enum RekeyJob {
    static func main() -> Never {
        OneShotJob.run(
            name: "vercel-job-rekey", settings: { try EncryptionKeys.fromEnvironment() },
            work: { database, logger, ring in
                let started = ContinuousClock.now
                let tally = try Rekeyer(database: database, opener: ring, sealer: ring).run()
                let seconds = Double((ContinuousClock.now - started).milliseconds) / 1000
                for row in tally.failedRows {
                    logger.warning(
                        "value not re-sealed: its key is not in the ring, or it does not open",
                        metadata: ["row": .stringConvertible(row)])
                }
                return [
                    "rekey.current": .stringConvertible(ring.currentKeyID),
                    "rekey.rekeyed": .stringConvertible(tally.rekeyed),
                    "rekey.failed": .stringConvertible(tally.failed),
                    "rekey.per_second": .stringConvertible(
                        seconds > 0 ? Int(Double(tally.rekeyed) / seconds) : tally.rekeyed),
                ]
            })
    }
}
