import Crypto
import Foundation
import Kernel
import Logging
import Platform
import Postgres
import TestSupport
import Vercel

// env-bench ENV_FILE BASE_URL SIMULATOR_URL DATABASE_URL ENV_PID_FILE [VARIABLES]
//
// A linked project with VARIABLES (10,000) variables on each side, in step; then 1% changed on the
// platform, 1% changed in Vercel and 0.1% changed on both. Reports the plan's time in process
// (EnvPlan over the same number of slots), a bidirectional dry run and its apply through nginx with
// the Vercel calls each made (from the simulator's counts), against the target of ⌈changes ÷ batch⌉
// writes plus the reads the plan needed, and the env function's peak memory. TOKEN_ENCRYPTION_KEYS
// and SHEEN_HMAC_SECRET are read from the stack's ENV_FILE.

let arguments = CommandLine.arguments
guard arguments.count >= 6 else {
    FileHandle.standardError.write(
        Data("usage: env-bench ENV_FILE BASE_URL SIMULATOR_URL DATABASE_URL ENV_PID_FILE [VARIABLES]\n".utf8))
    exit(64)
}
let (base, simulator, databaseURL, pidFile) = (arguments[2], arguments[3], arguments[4], arguments[5])
let count = arguments.count > 6 ? Int(arguments[6]) ?? 10_000 : 10_000
let stack = try BenchStack(
    envFile: arguments[1], databaseURL: databaseURL, simulator: simulator, statementTimeout: .seconds(600))
let (ring, secret) = (stack.ring, stack.secret)
let (database, transport, client) = (stack.database, stack.transport, stack.client)

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

@MainActor func post(_ url: String, _ body: String, token: String? = nil) throws -> [String: Any] {
    var headers = [("Content-Type", "application/json")]
    if let token { headers.append(("Authorization", "Bearer \(token)")) }
    let response = try transport.send(HTTPRequest(method: "POST", url: url, headers: headers, body: Array(body.utf8)))
    return (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] ?? [:]
}

/// A signed call to the service.
@MainActor func signed(_ method: String, _ target: String, _ body: String) throws -> (Int, [String: Any]) {
    var headers = PlatformSigner.headers(method, target, body: Data(body.utf8), secret: secret).map {
        ($0.key, $0.value)
    }
    headers.append(("Content-Type", "application/json"))
    let response = try transport.send(
        HTTPRequest(
            method: method, url: base + target, headers: headers, body: Array(body.utf8), totalTimeout: .seconds(600)))
    return (response.status, (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] ?? [:])
}

@MainActor func requests(_ token: String) throws -> Int {
    let response = try transport.send(
        HTTPRequest(method: "GET", url: simulator + "/_sim/requests", headers: [("Authorization", "Bearer \(token)")]))
    let counts = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Int] ?? [:]
    return counts.filter { $0.key.contains("/env") }.values.reduce(0, +)
}

// A simulated account and project, and a platform project linked to it.
let linked = try BenchLinkedProject.make(
    "env-bench", settings: VercelProjectSettings(name: "env-bench-\(UUID().uuidString.prefix(6).lowercased())"),
    simulator: simulator, database: database, ring: ring, transport: transport, client: client)
let (token, user, project, vercelProject) = (linked.token, linked.user, linked.project, linked.vercelProject)
let credentials = VercelClient.Credentials(accessToken: token)
let store = EnvStore(database: database, keyRing: ring, hasher: EnvValueHasher(secret: Array(secret.utf8)))
try database.transaction {
    for n in 0..<count {
        try store.setLocal(
            "value-\(n)-" + String(repeating: "x", count: 24), slot: .init(key: "VAR_\(n)", target: "preview"),
            type: "encrypted", projectID: project)
    }
}
let syncPath = "/v1/projects/\(project)/vercel/env/sync"
let started = ContinuousClock.now
let (firstStatus, first) = try signed(
    "POST", syncPath, #"{"userId":"\#(user)","direction":"to_vercel","target":"preview"}"#)
guard firstStatus == 200, first["interrupted"] as? Bool == false else {
    print("env-bench: the first sync failed: \(firstStatus) \(first)")
    exit(1)
}
let firstSeconds = seconds(ContinuousClock.now - started)

// 1% changed here, 1% in Vercel, 0.1% on both.
let changed = count / 100
let both = count / 1000
let remote = Dictionary(
    try client.envVariables(projectID: vercelProject.id, credentials).map { ($0.key, $0.id) },
    uniquingKeysWith: { a, _ in a })
for n in 0..<changed {
    try store.setLocal(
        "changed-here-\(n)", slot: .init(key: "VAR_\(n)", target: "preview"), type: "encrypted", projectID: project)
}
for n in changed..<(2 * changed) {
    _ = try client.updateEnvVariable(
        id: remote["VAR_\(n)"]!!, projectID: vercelProject.id, value: "changed-there-\(n)", credentials)
}
for n in (2 * changed)..<(2 * changed + both) {
    try store.setLocal(
        "both-here-\(n)", slot: .init(key: "VAR_\(n)", target: "preview"), type: "encrypted", projectID: project)
    _ = try client.updateEnvVariable(
        id: remote["VAR_\(n)"]!!, projectID: vercelProject.id, value: "both-there-\(n)", credentials)
}

// The plan alone, in process, over as many slots with the same mix.
var inputs: [EnvPlan.Slot: EnvPlan.Input] = [:]
for n in 0..<count {
    let baseHash = "base-\(n)"
    let local = n < changed || (n >= 2 * changed && n < 2 * changed + both) ? "local-\(n)" : baseHash
    let remoteHash = n >= changed && n < 2 * changed + both ? "remote-\(n)" : baseHash
    inputs[.init(key: "VAR_\(n)", target: "preview")] = .init(
        local: .init(hash: local, type: "encrypted"),
        remote: .init(
            id: "env_\(n)", hash: remoteHash, updatedAt: remoteHash == baseHash ? 1 : 2, type: "encrypted", owned: true),
        base: .init(hash: baseHash, vercelID: "env_\(n)", vercelUpdatedAt: 1))
}
let planStart = ContinuousClock.now
let plan = EnvPlan.plan(inputs, .init(direction: .bidirectional))
let planSeconds = seconds(ContinuousClock.now - planStart)

let body = #"{"userId":"\#(user)","direction":"bidirectional","target":"preview"}"#
var before = try requests(token)
let dryStart = ContinuousClock.now
let (dryStatus, dry) = try signed("POST", syncPath, body.replacingOccurrences(of: "}", with: #","dryRun":true}"#))
let drySeconds = seconds(ContinuousClock.now - dryStart)
let dryCalls = try requests(token) - before
before = try requests(token)
let applyStart = ContinuousClock.now
let (applyStatus, applied) = try signed("POST", syncPath, body)
let applySeconds = seconds(ContinuousClock.now - applyStart)
let applyCalls = try requests(token) - before
guard dryStatus == 200, applyStatus == 200 else {
    print("env-bench: dry run \(dryStatus), apply \(applyStatus): \(applied)")
    exit(1)
}
let actions = (applied["changes"] as? [[String: Any]] ?? []).compactMap { $0["action"] as? String }
let pushes = actions.filter { $0 == "update" || $0 == "create" }.count
let pulls = actions.filter { $0 == "pull" }.count
let conflicts = actions.filter { $0 == "conflict" }.count
let calls = applied["vercelCalls"] as? [String: Int] ?? [:]
let reads = calls["reads"] ?? 0
let target = Int((Double(pushes) / Double(EnvBenchBatch.push)).rounded(.up)) + reads
let status =
    (try? String(
        contentsOfFile:
            "/proc/\(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))/status",
        encoding: .utf8)) ?? ""
let peak = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }.map(String.init) ?? "VmHWM: unknown"

print(String(format: "  first sync, %d creates through nginx        %8.2f s", count, firstSeconds))
print(
    String(
        format: "  plan of %d slots in process                %8.3f s   (target < 1 s; %d changes)", count, planSeconds,
        plan.filter { $0.action != .inSync }.count))
print(String(format: "  dry run through nginx                       %8.3f s   %d Vercel calls", drySeconds, dryCalls))
print(
    String(format: "  apply through nginx                         %8.3f s   %d Vercel calls", applySeconds, applyCalls))
print(
    "  apply: \(pushes) pushed, \(pulls) pulled, \(conflicts) conflicts; reads \(reads) (1 list + \(reads - 1) values fetched), writes \(calls["writes"] ?? 0)"
)
print(
    "  Vercel calls of the apply \(applyCalls) against the target ⌈\(pushes) ÷ \(EnvBenchBatch.push)⌉ + \(reads) reads = \(target)"
)
print(
    "  env function peak memory (\(peak.replacingOccurrences(of: "\t", with: " ").replacingOccurrences(of: "  ", with: " ")))"
)

enum EnvBenchBatch { static let push = 50 }
