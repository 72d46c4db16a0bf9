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
//   vercel-audit head
//       Prints a signed checkpoint of the chain's head.

func fail(_ code: Int32, _ fields: [String: String]) -> Never {
    let data = try! JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
    FileHandle.standardOutput.write(data + Data("\n".utf8))
    exit(code)
}

Release.answerVersion(program: "vercel-audit")
let arguments = Array(CommandLine.arguments.dropFirst())
guard let command = arguments.first, ["verify", "head"].contains(command) else {
    FileHandle.standardError.write(Data("usage: vercel-audit verify [--checkpoint <checkpoint>]... | head\n".utf8))
    exit(64)
}
var checkpointTexts: [String] = []
var index = 1
while index < arguments.count {
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
