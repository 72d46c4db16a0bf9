import Crypto
import FastCGI
import Foundation
import Kernel
import Platform
import PlatformHost
import Postgres
import Settings

// vercel-audit: the security audit log's hash chain, checked from outside the service.
//
//   vercel-audit verify [--checkpoint v1:<seq>:<hash>:<time>:<mac>]...
//       Walks the chain from its first row and names the first row that does not fit (edited,
//       deleted, moved). With checkpoints (from the log or the `audit.checkpoint` alerts, signed with
//       SHEEN_AUDIT_CHECKPOINT_KEY) it also finds a tail deleted since. Prints one JSON line.
//       Exit 0 intact, 2 tampered, 1 failed, 78 misconfigured.
//       With --restored (a restore drill, a database brought back from a backup), a chain that
//       ends before a checkpoint is not called tampered: it names the gap, the rows written after
//       the backup, and exits 3.
//   vercel-audit head
//       Prints a signed checkpoint of the chain's head.
//   vercel-audit tokens
//       Opens every sealed value (the connections' tokens) with TOKEN_ENCRYPTION_KEYS and prints how
//       many opened and which did not. Exit 0 all open, 2 some do not, 1 failed, 78 misconfigured.

func fail(_ code: Int32, _ fields: [String: String]) -> Never {
    let data = try! JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
    FileHandle.standardOutput.write(data + Data("\n".utf8))
    exit(code)
}

Release.answerVersion(program: "vercel-audit")
let arguments = Array(CommandLine.arguments.dropFirst())
guard let command = arguments.first, ["verify", "head", "tokens"].contains(command) else {
    FileHandle.standardError.write(
        Data("usage: vercel-audit verify [--restored] [--checkpoint <checkpoint>]... | head | tokens\n".utf8))
    exit(64)
}
var checkpointTexts: [String] = []
var restored = false
var index = 1
while index < arguments.count {
    if arguments[index] == "--restored" {
        restored = true
        index += 1
        continue
    }
    guard arguments[index] == "--checkpoint", index + 1 < arguments.count else {
        FileHandle.standardError.write(Data("vercel-audit: unknown argument \(arguments[index])\n".utf8))
        exit(64)
    }
    checkpointTexts.append(arguments[index + 1])
    index += 2
}

let databaseURL: String
let key: AuditCheckpointKey?
do {
    databaseURL = try JobConfiguration.fromEnvironment().databaseURL
    key = command == "head" || !checkpointTexts.isEmpty ? try AuditCheckpointKey.fromEnvironment() : nil
} catch {
    fail(78, ["result": "misconfigured", "error": "\(error)"])
}
let database = PostgresConnection(
    .init(url: databaseURL, statementTimeout: .seconds(600), applicationName: "vercel-audit"))

do {
    if command == "tokens" {
        let ring: KeyRing
        do {
            ring = try EncryptionKeys.fromEnvironment()
        } catch {
            fail(78, ["result": "misconfigured", "error": "\(error)"])
        }
        let tally = try SealedValueCheck.run(database: database, ring: ring)
        fail(
            tally.failed == 0 ? 0 : 2,
            [
                "result": tally.failed == 0 ? "open" : "unopened", "opened": "\(tally.opened)",
                "failed": "\(tally.failed)", "failedRows": tally.failedRows.joined(separator: ", "),
            ])
    }
    if command == "head" {
        let head = try AuditChain.head(database)
        let checkpoint = AuditCheckpoint(
            seq: head.seq, hash: head.hash, time: Int64(Date().timeIntervalSince1970), key: key!.bytes)
        print(checkpoint)
        exit(0)
    }
    var checkpoints: [AuditCheckpoint] = []
    for text in checkpointTexts {
        do {
            checkpoints.append(try AuditCheckpoint.parse(text, key: key!.bytes))
        } catch {
            fail(2, ["result": "tampered", "reason": "a checkpoint is not signed with this key (\(error))"])
        }
    }
    switch try AuditChain.verify(database) {
    case .broken(let seq, let reason):
        fail(2, ["result": "tampered", "firstBrokenSeq": "\(seq)", "reason": reason])
    case .intact(let rows, let headSeq, let headHash):
        for checkpoint in checkpoints.sorted(by: { $0.seq > $1.seq }) {
            if checkpoint.seq > headSeq, restored {
                fail(
                    3,
                    [
                        "result": "restored-gap", "headSeq": "\(headSeq)", "checkpointSeq": "\(checkpoint.seq)",
                        "missing": "\(checkpoint.seq - headSeq)",
                        "reason":
                            "the restored chain is intact up to row \(headSeq); rows \(headSeq + 1) to \(checkpoint.seq), "
                            + "written after the backup, are not in it",
                    ])
            }
            guard checkpoint.seq <= headSeq else {
                fail(
                    2,
                    [
                        "result": "tampered", "firstBrokenSeq": "\(headSeq + 1)",
                        "reason":
                            "the chain ends at row \(headSeq), but a checkpoint saw row \(checkpoint.seq): its tail was deleted",
                    ])
            }
            guard try checkpoint.isHeld(by: database) else {
                fail(
                    2,
                    [
                        "result": "tampered", "firstBrokenSeq": "\(checkpoint.seq)",
                        "reason": "row \(checkpoint.seq) differs from the checkpoint's: the chain was rewritten",
                    ])
            }
        }
        fail(
            0,
            [
                "result": "intact", "rows": "\(rows)", "headSeq": "\(headSeq)", "headHash": headHash,
                "checkpoints": "\(checkpoints.count)",
            ])
    }
} catch {
    fail(1, ["result": "failed", "error": "\(error)"])
}
