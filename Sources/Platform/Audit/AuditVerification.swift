import Crypto
import Postgres

/// The whole check of the audit chain that `vercel-audit verify` and `vercel-admin audit verify`
/// run: the chain walked from its first row, then each checkpoint (v1 with the secret, v2 with the
/// public key alone) checked against it, newest first. The verdict is an exit status and the fields
/// to print: 0 intact, 2 tampered (or a checkpoint that does not verify), 3 a restored chain that
/// ends before a checkpoint (with `restored`).
public enum AuditVerification {
    public struct Verdict: Sendable {
        public let exit: Int32
        public let fields: [String: String]
    }

    public static func run(
        database: PostgresConnection, checkpoints texts: [String], hmacKey: [UInt8]?, publicKey: Ed25519.PublicKey?,
        restored: Bool
    ) throws -> Verdict {
        var checkpoints: [AuditCheckpoint] = []
        for text in texts {
            do {
                checkpoints.append(try AuditCheckpoint.parse(text, key: hmacKey, publicKey: publicKey))
            } catch .noKey(let version) {
                return Verdict(
                    exit: 2,
                    fields: [
                        "result": "tampered",
                        "reason": version == "v2"
                            ? "a v2 checkpoint is checked with the public key (--public-key)"
                            : "a v1 checkpoint is checked with SHEEN_AUDIT_CHECKPOINT_KEY",
                    ])
            } catch {
                return Verdict(
                    exit: 2,
                    fields: ["result": "tampered", "reason": "a checkpoint is not signed with this key (\(error))"])
            }
        }
        switch try AuditChain.verify(database) {
        case .broken(let seq, let reason):
            return Verdict(exit: 2, fields: ["result": "tampered", "firstBrokenSeq": "\(seq)", "reason": reason])
        case .intact(let rows, let headSeq, let headHash):
            for checkpoint in checkpoints.sorted(by: { $0.seq > $1.seq }) {
                if checkpoint.seq > headSeq, restored {
                    return Verdict(
                        exit: 3,
                        fields: [
                            "result": "restored-gap", "headSeq": "\(headSeq)", "checkpointSeq": "\(checkpoint.seq)",
                            "missing": "\(checkpoint.seq - headSeq)",
                            "reason":
                                "the restored chain is intact up to row \(headSeq); rows \(headSeq + 1) to \(checkpoint.seq), "
                                + "written after the backup, are not in it",
                        ])
                }
                guard checkpoint.seq <= headSeq else {
                    return Verdict(
                        exit: 2,
                        fields: [
                            "result": "tampered", "firstBrokenSeq": "\(headSeq + 1)",
                            "reason":
                                "the chain ends at row \(headSeq), but a checkpoint saw row \(checkpoint.seq): its tail was deleted",
                        ])
                }
                guard try checkpoint.isHeld(by: database) else {
                    return Verdict(
                        exit: 2,
                        fields: [
                            "result": "tampered", "firstBrokenSeq": "\(checkpoint.seq)",
                            "reason": "row \(checkpoint.seq) differs from the checkpoint's: the chain was rewritten",
                        ])
                }
            }
            return Verdict(
                exit: 0,
                fields: [
                    "result": "intact", "rows": "\(rows)", "headSeq": "\(headSeq)", "headHash": headHash,
                    "checkpoints": "\(checkpoints.count)",
                ])
        }
    }
}
