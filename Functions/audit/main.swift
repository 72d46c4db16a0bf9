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
//   vercel-audit verify [--checkpoint <checkpoint>]... [--public-key <key>]
//       Walks the chain from its first row and names the first row that does not fit (edited,
//       deleted, moved). With checkpoints (from the log or the `audit.checkpoint` alerts) it also
//       finds a tail deleted since: a v2 checkpoint is checked with the public key alone, a v1 one
//       with SHEEN_AUDIT_CHECKPOINT_KEY. Prints one JSON line.
//       Exit 0 intact, 2 tampered, 1 failed, 78 misconfigured.
//       With --restored (a restore drill, a database brought back from a backup), a chain that
//       ends before a checkpoint is not called tampered: it names the gap, the rows written after
//       the backup, and exits 3.
//   vercel-audit head
//       Prints a signed (v2) checkpoint of the chain's head.
//   vercel-audit public-key
//       Prints the public key that verifies v2 checkpoints, derived from SHEEN_AUDIT_CHECKPOINT_KEY:
//       publish it to whoever audits the chain.
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
guard let command = arguments.first, ["verify", "head", "tokens", "public-key"].contains(command) else {
    FileHandle.standardError.write(
        Data(
            "usage: vercel-audit verify [--restored] [--checkpoint <checkpoint>]... [--public-key <key>] | head | public-key | tokens\n"
                .utf8))
    exit(64)
}
var checkpointTexts: [String] = []
var publicKeyText: String?
var restored = false
var index = 1
while index < arguments.count {
    if arguments[index] == "--restored" {
        restored = true
        index += 1
        continue
    }
    guard ["--checkpoint", "--public-key"].contains(arguments[index]), index + 1 < arguments.count else {
        FileHandle.standardError.write(Data("vercel-audit: unknown argument \(arguments[index])\n".utf8))
        exit(64)
    }
    if arguments[index] == "--checkpoint" {
        checkpointTexts.append(arguments[index + 1])
    } else {
        publicKeyText = arguments[index + 1]
    }
    index += 2
}
let publicKey = publicKeyText.flatMap(Ed25519.PublicKey.init(text:))
if publicKeyText != nil, publicKey == nil {
    fail(64, ["result": "usage", "error": "--public-key must be the key vercel-audit public-key prints"])
}

if command == "public-key" {
    do {
        let key = try AuditCheckpoint.signingKey(from: AuditCheckpointKey.fromEnvironment().bytes)
        print(key.publicKey.text)
        exit(0)
    } catch {
        fail(78, ["result": "misconfigured", "error": "\(error)"])
    }
}

let databaseURL: String
let key: AuditCheckpointKey?
do {
    databaseURL = try JobConfiguration.fromEnvironment().databaseURL
    // v2 checkpoints need only the public key; without --public-key it is derived from the secret.
    let needsSecret =
        command == "head" || checkpointTexts.contains { $0.hasPrefix("v1:") }
        || (publicKey == nil && !checkpointTexts.isEmpty)
    key = needsSecret ? try AuditCheckpointKey.fromEnvironment() : nil
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
        let checkpoint = try AuditCheckpoint(
            seq: head.seq, hash: head.hash, time: Int64(Date().timeIntervalSince1970),
            signer: AuditCheckpoint.signingKey(from: key!.bytes))
        print(checkpoint)
        exit(0)
    }
    let verdict = try AuditVerification.run(
        database: database, checkpoints: checkpointTexts, hmacKey: key?.bytes,
        publicKey: try publicKey ?? key.map { try AuditCheckpoint.signingKey(from: $0.bytes).publicKey },
        restored: restored)
    fail(verdict.exit, verdict.fields)
} catch {
    fail(1, ["result": "failed", "error": "\(error)"])
}
