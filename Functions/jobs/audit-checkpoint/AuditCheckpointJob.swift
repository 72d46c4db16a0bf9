import Foundation
import Logging
import Platform
import PlatformHost
import Postgres

// vercel-job-audit-checkpoint (every five minutes): signs the audit chain's head with the Ed25519 key
// derived from SHEEN_AUDIT_CHECKPOINT_KEY, a secret the database never holds (its public half
// verifies the checkpoint without any secret), and writes the checkpoint out: a log
// line, and an `audit.checkpoint` alert the platform keeps. `vercel-audit verify --checkpoint …`
// then finds a tail deleted after it, which the chain alone cannot show.
enum AuditCheckpointJob {
    static func main() -> Never {
        OneShotJob.run(
            name: "vercel-job-audit-checkpoint", settings: { try AuditCheckpointKey.fromEnvironment() },
            work: {
                database, logger, key in
                let head = try AuditChain.head(database)
                let signer = try AuditCheckpoint.signingKey(from: key.bytes)
                let checkpoint = try AuditCheckpoint(
                    seq: head.seq, hash: head.hash, time: Int64(Date().timeIntervalSince1970), signer: signer)
                struct Data: Encodable {
                    let seq: Int64
                    let hash: String
                    let time: Int64
                    let checkpoint: String
                    let publicKey: String
                }
                try AlertOutbox(database: database).enqueue(
                    "audit.checkpoint", severity: .info,
                    data: Data(
                        seq: checkpoint.seq, hash: checkpoint.hash, time: checkpoint.time, checkpoint: "\(checkpoint)",
                        publicKey: signer.publicKey.text),
                    dedupKey: "audit-checkpoint:\(checkpoint.seq)")
                logger.info("audit checkpoint", metadata: ["audit.checkpoint": "\(checkpoint)"])
                return ["audit.head": .stringConvertible(checkpoint.seq)]
            })
    }
}
