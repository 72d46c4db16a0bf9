import Crypto
import Foundation
import Kernel
import Platform
import PlatformHost
import Postgres
import Settings

// vercel-admin: an administrator's tool. It holds the admin's Ed25519 key file (never sent), signs
// each break-glass decision and key share with it, and calls the service's admin routes through the
// local nginx with the platform's request signature. Run `vercel-admin help` for the commands.
//
// Settings (flags win over the environment): --url / VERCEL_ADMIN_URL (default http://127.0.0.1),
// --admin / VERCEL_ADMIN_ID (your user id), --key / VERCEL_ADMIN_KEY (default
// ~/.config/vercel-admin/key.pem), SHEEN_HMAC_SECRET, DATABASE_URL (enrol-first, audit verify);
// --settings FILE reads KEY=VALUE lines (as systemd's EnvironmentFile=) first.
//
// Exit: 0 done; 1 failed (network, I/O); 2 the service refused (its code is printed); 3 the
// request the service shows does not match its digest (nothing was signed); 4 the audit chain or a
// checkpoint does not verify; 64 usage; 77 the key file is readable by others or missing; 78
// misconfigured.

let usage = """
    usage: vercel-admin [--json] [--url URL] [--admin USER_ID] [--key FILE] [--settings FILE] COMMAND
      keygen                          write a new key to --key (mode 0600) and print its public half
      enrol-first                     enrol your key on the host (DATABASE_URL); only while no admin has one
      enrol --justification TEXT      ask the quorum to enrol your key
      rotate --new-key FILE --justification TEXT    ask to replace your key with FILE's
      revoke FINGERPRINT --justification TEXT       ask to revoke a key
      keys                            the enrolled keys
      request --level LEVEL [--connection ID]... --justification TEXT
      requests [--status STATUS]      break-glass requests, newest first
      show ID                         one request, its digest checked
      approve ID | deny ID | execute ID             sign and send a decision
      share ID SHARE [--key-id KEY]   hand in a key share for recovery (SHARE or - for stdin)
      reset-shares ID [--key-id KEY]  discard the shares gathered for a recovery
      jobs [--status STATUS]          the work queue's jobs (dead by default)
      retry JOB                       a dead job back in the queue
      replay JOB                      a stored webhook event applied again
      audit verify [--checkpoint C]... [--public-key KEY]   walk the chain (DATABASE_URL)
      checkpoint-key                  the public key that verifies checkpoints (SHEEN_AUDIT_CHECKPOINT_KEY): publish it
    """

enum Exit: Int32 {
    case failed = 1
    case refused = 2
    case digestMismatch = 3
    case tampered = 4
    case usage = 64
    case keyFile = 77
    case misconfigured = 78
}

/// Why a command stops, with the fields `--json` prints. The tool runs on one thread, and a failure
/// is made once and never changed, so its untyped JSON fields are never shared.
struct Failure: Error, @unchecked Sendable {
    let exit: Exit
    let message: String
    var fields: [String: Any] = [:]
}

// MARK: - Arguments

let valued: Set = [
    "--url", "--admin", "--key", "--settings", "--justification", "--new-key", "--level", "--connection",
    "--status", "--key-id", "--checkpoint", "--public-key",
]

/// The command line: `--json`, the valued flags (each may repeat) and the words.
func parseArguments() -> (json: Bool, flags: [String: [String]], words: [String]) {
    var json = false
    var flags: [String: [String]] = [:]
    var words: [String] = []
    var arguments = Array(CommandLine.arguments.dropFirst())[...]
    while let argument = arguments.popFirst() {
        if argument == "--json" {
            json = true
        } else if valued.contains(argument) {
            guard let value = arguments.popFirst() else {
                FileHandle.standardError.write(Data("vercel-admin: \(argument) needs a value\n\(usage)\n".utf8))
                exit(Exit.usage.rawValue)
            }
            flags[argument, default: []].append(value)
        } else if argument.hasPrefix("--"), argument != "--version" {
            FileHandle.standardError.write(Data("vercel-admin: unknown option \(argument)\n\(usage)\n".utf8))
            exit(Exit.usage.rawValue)
        } else {
            words.append(argument)
        }
    }
    return (json, flags, words)
}

let (json, flags, words) = parseArguments()
Release.answerVersion(program: "vercel-admin")

func flag(_ name: String) -> String? { flags[name]?.last }

/// Settings: --settings files, then the environment (flags win over both, in `setting`).
func readSettings() -> [String: String] {
    var settings: [String: String] = [:]
    for file in flags["--settings"] ?? [] {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            FileHandle.standardError.write(Data("vercel-admin: cannot read \(file)\n".utf8))
            exit(Exit.misconfigured.rawValue)
        }
        for line in text.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#"), let equals = trimmed.firstIndex(of: "=") else { continue }
            var value = String(trimmed[trimmed.index(after: equals)...])
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = String(value.dropFirst().dropLast())
            }
            settings[String(trimmed[..<equals])] = value
        }
    }
    return settings.merging(Environment.process().values) { $1 }
}

let settings = readSettings()

func setting(_ flagName: String?, _ key: String) -> String? {
    flagName.flatMap(flag) ?? settings[key].flatMap { $0.isEmpty ? nil : $0 }
}

// MARK: - Output

func emit(_ fields: [String: Any], text: String) {
    if json {
        let data = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])) ?? Data("{}".utf8)
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    } else {
        print(text)
    }
}

func fail(_ failure: Failure) -> Never {
    var fields = failure.fields
    fields["error"] = failure.message
    if json {
        let data = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])) ?? Data("{}".utf8)
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }
    FileHandle.standardError.write(Data("vercel-admin: \(failure.message)\n".utf8))
    exit(failure.exit.rawValue)
}

// MARK: - The key file

let keyPath =
    setting("--key", "VERCEL_ADMIN_KEY")
    ?? (settings["HOME"].map { $0 + "/.config/vercel-admin/key.pem" } ?? "key.pem")

/// Reads a key file, refusing one that others may read or that is not the caller's.
func readKey(_ path: String) throws -> Ed25519.PrivateKey {
    var info = stat()
    guard stat(path, &info) == 0 else {
        throw Failure(exit: .keyFile, message: "no key file at \(path) (vercel-admin keygen writes one)")
    }
    guard info.st_mode & 0o077 == 0 else {
        throw Failure(
            exit: .keyFile,
            message: "\(path) is readable by others (mode \(String(info.st_mode & 0o777, radix: 8))): chmod 600 it")
    }
    guard info.st_uid == getuid() else { throw Failure(exit: .keyFile, message: "\(path) belongs to another user") }
    do {
        return try Ed25519.PrivateKey(pem: try String(contentsOfFile: path, encoding: .utf8))
    } catch {
        throw Failure(exit: .keyFile, message: "\(path) is not an Ed25519 private key (PEM)")
    }
}

/// Writes a new key file, mode 0600, never over an existing file.
func writeKey(_ key: Ed25519.PrivateKey, to path: String) throws {
    let folder = (path as NSString).deletingLastPathComponent
    if !folder.isEmpty { try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
    let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
    guard descriptor >= 0 else {
        throw Failure(exit: .failed, message: "cannot create \(path): \(String(cString: strerror(errno)))")
    }
    defer { close(descriptor) }
    let bytes = Array(try key.pem().utf8)
    guard write(descriptor, bytes, bytes.count) == bytes.count else {
        throw Failure(exit: .failed, message: "cannot write \(path)")
    }
}

// MARK: - The service

func adminID() throws -> UUID {
    guard let text = setting("--admin", "VERCEL_ADMIN_ID"), let id = UUID(uuidString: text) else {
        throw Failure(exit: .misconfigured, message: "--admin (or VERCEL_ADMIN_ID) must be your user id")
    }
    return id
}

/// One signed call to the service: its status and JSON answer.
func call(
    _ method: String, _ path: String, query: [(String, String)] = [], body: [String: Any]? = nil
) throws -> (
    Int, [String: Any]
) {
    guard let secret = settings["SHEEN_HMAC_SECRET"], secret.utf8.count >= 32 else {
        throw Failure(exit: .misconfigured, message: "SHEEN_HMAC_SECRET is not set (--settings FILE reads it)")
    }
    let base = setting("--url", "VERCEL_ADMIN_URL") ?? "http://127.0.0.1"
    let admin = try adminID()
    var items = query + (method == "GET" ? [("userId", admin.uuidString.lowercased())] : [])
    items.sort { $0.0 < $1.0 }
    let rawQuery = items.map { "\(QueryString.encode($0.0))=\(QueryString.encode($0.1))" }.joined(separator: "&")
    var payload = body ?? [:]
    if method != "GET" { payload["userId"] = admin.uuidString.lowercased() }
    let bytes =
        method == "GET" ? [] : Array(try JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys]))
    let timestamp = String(Int64(Date().timeIntervalSince1970))
    let nonce = try AdminStatement.nonce()
    let signature = PlatformSignature.sign(
        PlatformSignature.canonical(
            method: method, path: path, rawQuery: rawQuery, timestamp: timestamp, nonce: nonce, body: bytes),
        secret: Array(secret.utf8))
    let request = HTTPRequest(
        method: method, url: base + path + (rawQuery.isEmpty ? "" : "?" + rawQuery),
        headers: [
            ("Content-Type", "application/json"), ("Accept", "application/json"),
            (PlatformSignature.signatureHeader, signature), (PlatformSignature.timestampHeader, timestamp),
            (PlatformSignature.nonceHeader, nonce),
        ], body: bytes, connectTimeout: .seconds(5), totalTimeout: .seconds(60))
    let response: HTTPResponse
    do {
        response = try CurlTransport(responseLimit: 8 << 20).send(request)
    } catch {
        throw Failure(exit: .failed, message: "cannot reach the service at \(base): \(error)")
    }
    let answer = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] ?? [:]
    return (response.status, answer)
}

/// A call that must succeed: the answer, or the service's refusal as a failure.
func succeed(
    _ method: String, _ path: String, query: [(String, String)] = [], body: [String: Any]? = nil
) throws
    -> [String: Any]
{
    let (status, answer) = try call(method, path, query: query, body: body)
    guard (200..<300).contains(status) else {
        let code = answer["code"] as? String ?? "HTTP_\(status)"
        throw Failure(
            exit: .refused, message: "\(code): \(answer["error"] as? String ?? "the service answered \(status)")",
            fields: ["status": status, "code": code, "answer": answer])
    }
    return answer
}

let requestsPath = "/v1/admin/vercel/breakglass/requests"

/// The request as the service shows it, after checking its digest is of what it shows.
func reviewed(_ id: String) throws -> [String: Any] {
    let answer = try succeed("GET", "\(requestsPath)/\(id)")
    guard let request = answer["request"] as? [String: Any] else {
        throw Failure(exit: .failed, message: "the service's answer holds no request")
    }
    let change = (request["keyChange"] as? [String: Any]).flatMap { change -> BreakglassStore.KeyChange? in
        guard let action = (change["action"] as? String).flatMap(BreakglassStore.KeyChange.Action.init),
            let admin = (change["adminId"] as? String).flatMap(UUID.init(uuidString:)),
            let fingerprint = change["fingerprint"] as? String
        else { return nil }
        return .init(
            action: action, adminId: admin, publicKey: change["publicKey"] as? String, fingerprint: fingerprint)
    }
    guard let requestID = (request["id"] as? String).flatMap(UUID.init(uuidString:)),
        let requester = (request["requestedBy"] as? String).flatMap(UUID.init(uuidString:)),
        let level = request["accessLevel"] as? String, let justification = request["justification"] as? String,
        let required = request["requiredApprovals"] as? Int, let digest = request["digest"] as? String
    else { throw Failure(exit: .failed, message: "the service's request lacks fields its digest covers") }
    let connections = (request["connectionIds"] as? [String] ?? []).compactMap(UUID.init(uuidString:))
    let computed = BreakglassStore.Request.digest(
        id: requestID, requestedBy: requester, accessLevel: level, connectionIds: connections,
        justification: justification, requiredApprovals: required, keyChange: change)
    guard ConstantTime.equals(computed, digest),
        (request["keyChange"] == nil || request["keyChange"] is NSNull) == (change == nil)
    else {
        throw Failure(
            exit: .digestMismatch,
            message: "request \(id): its digest is not of what the service shows; nothing was signed")
    }
    return request
}

func sign(_ action: AdminStatement.Action, _ request: [String: Any], subject: String = "-") throws -> [String: Any] {
    let key = try readKey(keyPath)
    let statement = AdminStatement(
        request: UUID(uuidString: request["id"] as! String)!, action: action,
        level: request["accessLevel"] as! String, digest: request["digest"] as! String, subject: subject,
        nonce: try AdminStatement.nonce(), timestamp: Int64(Date().timeIntervalSince1970))
    let signed = try AdminSignature.sign(statement, with: key)
    return [
        "keyFingerprint": signed.keyFingerprint, "nonce": signed.nonce, "timestamp": signed.timestamp,
        "value": signed.value,
    ]
}

func describe(_ request: [String: Any]) -> String {
    var lines = [
        "request \(request["id"] ?? "?")  \(request["accessLevel"] ?? "?")  \(request["status"] ?? "?")",
        "  asked by   \(request["requestedBy"] ?? "?") at \(request["createdAt"] ?? "?")",
        "  why        \(request["justification"] ?? "")",
        "  approvals  \(request["approvals"] ?? 0) of \(request["requiredApprovals"] ?? 0)",
    ]
    if let connections = request["connectionIds"] as? [String], !connections.isEmpty {
        lines.append("  connections \(connections.joined(separator: ", "))")
    }
    if let change = request["keyChange"] as? [String: Any] {
        lines.append(
            "  key change \(change["action"] ?? "?") \(change["fingerprint"] ?? "?") for \(change["adminId"] ?? "?")")
    }
    for decision in request["decisions"] as? [[String: Any]] ?? [] {
        lines.append(
            "  \(decision["decision"] ?? "?") by \(decision["approverId"] ?? "?") (\(decision["keyFingerprint"] as? String ?? "unsigned"))"
        )
    }
    lines.append("  digest     \(request["digest"] ?? "?")")
    return lines.joined(separator: "\n")
}

func justification() throws -> String {
    guard let text = flag("--justification") else {
        throw Failure(exit: .usage, message: "--justification TEXT (20 to 4000 characters) says why")
    }
    return text
}

func keyChangeRequest(_ change: [String: Any]) throws {
    let answer = try succeed(
        "POST", requestsPath,
        body: ["accessLevel": "ADMIN_KEY", "justification": try justification(), "keyChange": change])
    let request = answer["request"] as? [String: Any] ?? [:]
    emit(
        answer,
        text: describe(request) + "\nthe other key holders approve it with: vercel-admin approve \(request["id"] ?? "")"
    )
}

func proof(of key: Ed25519.PrivateKey) throws -> [String: Any] {
    let admin = try adminID()
    return [
        "publicKey": key.publicKey.text,
        "proof": Base64URL.encode(try key.sign(AdminStatement.proofOfPossession(admin: admin, key: key.publicKey))),
    ]
}

func database() throws -> PostgresConnection {
    guard let url = settings["DATABASE_URL"] else {
        throw Failure(exit: .misconfigured, message: "DATABASE_URL is not set (this command reads the database)")
    }
    return PostgresConnection(.init(url: url, statementTimeout: .seconds(600), applicationName: "vercel-admin"))
}

// MARK: - Commands

func run(_ words: [String]) throws {
    guard let command = words.first else { throw Failure(exit: .usage, message: "no command\n\(usage)") }
    let operand = words.count > 1 ? words[1] : nil
    func requireOperand(_ what: String) throws -> String {
        guard let operand else { throw Failure(exit: .usage, message: "\(command) needs \(what)") }
        return operand
    }
    switch command {
    case "help":
        print(usage)
    case "keygen":
        let key = try Ed25519.PrivateKey.generate()
        try writeKey(key, to: keyPath)
        emit(
            ["keyFile": keyPath, "publicKey": key.publicKey.text, "fingerprint": key.publicKey.fingerprint],
            text:
                "wrote \(keyPath) (mode 0600)\npublic key  \(key.publicKey.text)\nfingerprint \(key.publicKey.fingerprint)"
        )
    case "enrol-first":
        let key = try readKey(keyPath)
        let admin = try adminID()
        let database = try database()
        do {
            let enrolled = try AdminKeyStore(database: database).enrolFirst(admin: admin, key: key.publicKey) { key in
                struct Details: Encodable {
                    let adminId: String
                    let fingerprint: String
                    let enrolledBy = "host"
                }
                try SecurityAudit(database: database).record(
                    .adminKeyEnrolled, severity: .high, actor: admin,
                    details: Details(adminId: admin.uuidString.lowercased(), fingerprint: key.fingerprint))
            }
            emit(
                ["fingerprint": enrolled.fingerprint, "adminId": admin.uuidString.lowercased()],
                text: "enrolled \(enrolled.fingerprint) for \(admin.uuidString.lowercased())")
        } catch AdminKeyStore.EnrolRefusal.keysEnrolled {
            throw Failure(
                exit: .refused, message: "admins already hold keys: ask the quorum (vercel-admin enrol)",
                fields: ["code": "KEYS_ENROLLED"])
        } catch AdminKeyStore.EnrolRefusal.notAnAdmin {
            throw Failure(exit: .refused, message: "no admin user has this id", fields: ["code": "ADMIN_REQUIRED"])
        } catch AdminKeyStore.EnrolRefusal.keyInUse {
            throw Failure(
                exit: .refused, message: "this key was enrolled before: make a new one", fields: ["code": "KEY_IN_USE"])
        }
    case "enrol":
        try keyChangeRequest(["action": "enrol"].merging(try proof(of: try readKey(keyPath))) { $1 })
    case "rotate":
        guard let path = flag("--new-key") else { throw Failure(exit: .usage, message: "rotate needs --new-key FILE") }
        try keyChangeRequest(["action": "rotate"].merging(try proof(of: try readKey(path))) { $1 })
    case "revoke":
        try keyChangeRequest(["action": "revoke", "fingerprint": try requireOperand("a key's fingerprint")])
    case "keys":
        let answer = try succeed("GET", "/v1/admin/vercel/admin-keys")
        let lines = (answer["keys"] as? [[String: Any]] ?? []).map {
            "\($0["fingerprint"] ?? "?")  \($0["status"] ?? "?")  admin \($0["adminId"] ?? "?")  by \($0["enrolledBy"] ?? "?")"
        }
        emit(answer, text: lines.isEmpty ? "no keys are enrolled" : lines.joined(separator: "\n"))
    case "request":
        guard let level = flag("--level") else { throw Failure(exit: .usage, message: "request needs --level LEVEL") }
        let answer = try succeed(
            "POST", requestsPath,
            body: [
                "accessLevel": level, "connectionIds": flags["--connection"] ?? [],
                "justification": try justification(),
            ])
        emit(answer, text: describe(answer["request"] as? [String: Any] ?? [:]))
    case "requests":
        let answer = try succeed("GET", requestsPath, query: flag("--status").map { [("status", $0)] } ?? [])
        let requests = answer["requests"] as? [[String: Any]] ?? []
        emit(answer, text: requests.isEmpty ? "no requests" : requests.map(describe).joined(separator: "\n\n"))
    case "show":
        let request = try reviewed(try requireOperand("a request id"))
        emit(["request": request, "digestVerified": true], text: describe(request) + "\n  (digest verified)")
    case "approve", "deny", "execute":
        let id = try requireOperand("a request id")
        let request = try reviewed(id)
        let action = AdminStatement.Action(rawValue: command)!
        let answer = try succeed(
            "POST", "\(requestsPath)/\(id)/\(command)", body: ["adminSignature": try sign(action, request)])
        var text = describe(answer["request"] as? [String: Any] ?? request)
        if let tokens = answer["tokens"] as? [[String: Any]] {
            text +=
                "\n"
                + tokens.map {
                    "  token of \($0["connectionId"] ?? "?"): \($0["accessToken"] ?? $0["unavailable"] ?? "")"
                }
                .joined(separator: "\n")
        }
        emit(answer, text: text)
    case "share", "reset-shares":
        let id = try requireOperand("a request id")
        let request = try reviewed(id)
        var body: [String: Any] = ["requestId": id]
        if let keyID = flag("--key-id") { body["keyId"] = keyID }
        if command == "share" {
            guard words.count > 2 else { throw Failure(exit: .usage, message: "share needs ID and SHARE (or -)") }
            var share = words[2]
            if share == "-" { share = readLine(strippingNewline: true) ?? "" }
            share = share.trimmingCharacters(in: .whitespacesAndNewlines)
            body["share"] = share
            body["adminSignature"] = try sign(.share, request, subject: AdminStatement.subject(ofShare: share))
        } else {
            body["reset"] = true
            body["adminSignature"] = try sign(.resetShares, request)
        }
        let answer = try succeed("POST", "/v1/admin/vercel/breakglass/key-recovery", body: body)
        emit(
            answer,
            text: "key \(answer["keyId"] ?? "?"): \(answer["progress"] ?? "?")"
                + ((answer["recovered"] as? Bool == true)
                    ? ", recovered; \(answer["reencrypted"] ?? 0) values re-sealed" : ""))
    case "jobs":
        let answer = try succeed("GET", "/v1/admin/vercel/jobs", query: [("status", flag("--status") ?? "dead")])
        let lines = (answer["jobs"] as? [[String: Any]] ?? []).map {
            "\($0["id"] ?? "?")  \($0["kind"] ?? "?")  \($0["status"] ?? "?")  attempts \($0["attempts"] ?? "?")  \($0["lastError"] as? String ?? "")"
        }
        emit(answer, text: lines.isEmpty ? "no jobs" : lines.joined(separator: "\n"))
    case "retry", "replay":
        let job = try requireOperand("a job id")
        let answer = try succeed("POST", "/v1/admin/vercel/jobs/\(job)/\(command)")
        emit(
            answer,
            text: command == "retry" ? "job \(job) is queued again" : "job \(job) replayed: \(answer["outcome"] ?? "?")"
        )
    case "checkpoint-key":
        guard let secret = settings["SHEEN_AUDIT_CHECKPOINT_KEY"], secret.utf8.count >= 32 else {
            throw Failure(
                exit: .misconfigured, message: "SHEEN_AUDIT_CHECKPOINT_KEY is not set (--settings FILE reads it)")
        }
        let key = try AuditCheckpoint.signingKey(from: Array(secret.utf8)).publicKey
        emit(
            ["publicKey": key.text, "fingerprint": key.fingerprint],
            text:
                "\(key.text)\n(publish it: vercel-audit verify --public-key and vercel-admin audit verify --public-key check checkpoints with it alone)"
        )
    case "audit":
        guard operand == "verify" else { throw Failure(exit: .usage, message: "audit verify") }
        let verdict = try AuditVerification.run(
            database: try database(), checkpoints: flags["--checkpoint"] ?? [],
            hmacKey: settings["SHEEN_AUDIT_CHECKPOINT_KEY"].map { Array($0.utf8) },
            publicKey: try flag("--public-key").map { text in
                guard let key = Ed25519.PublicKey(text: text) else {
                    throw Failure(
                        exit: .usage, message: "--public-key must be the checkpoint key vercel-audit public-key prints")
                }
                return key
            }, restored: false)
        let text = verdict.fields.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "\n")
        guard verdict.exit == 0 else {
            throw Failure(
                exit: .tampered, message: verdict.fields["reason"] ?? "the chain does not verify",
                fields: verdict.fields)
        }
        emit(verdict.fields, text: text)
    default:
        throw Failure(exit: .usage, message: "unknown command \(command)\n\(usage)")
    }
}

do {
    try run(words)
} catch let failure as Failure {
    fail(failure)
} catch {
    fail(Failure(exit: .failed, message: "\(error)"))
}
