import Foundation
import Logging
import Platform
import PlatformHost
import Postgres

// vercel-job-audit-checkpoint (every five minutes): signs the audit chain's head with
// SHEEN_AUDIT_CHECKPOINT_KEY, a key the database never holds, and writes the checkpoint out: a log
// line, and an `audit.checkpoint` alert the platform keeps. `vercel-audit verify --checkpoint …`
// then finds a tail deleted after it, which the chain alone cannot show.
enum AuditCheckpointJob {
    static func main() -> Never {
        OneShotJob.run(
            name: "vercel-job-audit-checkpoint", settings: { try AuditCheckpointKey.fromEnvironment() },
            work: {
                database, logger, key in
                let head = try AuditChain.head(database)
                let checkpoint = AuditCheckpoint(
                    seq: head.seq, hash: head.hash, time: Int64(Date().timeIntervalSince1970), key: key.bytes)
                struct Data: Encodable {
                    let seq: Int64
                    let hash: String
                    let time: Int64
                    let checkpoint: String
                }
                try AlertOutbox(database: database).enqueue(
                    "audit.checkpoint", severity: .info,
                    data: Data(
                        seq: checkpoint.seq, hash: checkpoint.hash, time: checkpoint.time, checkpoint: "\(checkpoint)"),
                    dedupKey: "audit-checkpoint:\(checkpoint.seq)")
                logger.info("audit checkpoint", metadata: ["audit.checkpoint": "\(checkpoint)"])
                return ["audit.head": .stringConvertible(checkpoint.seq)]
            })
    }
}
