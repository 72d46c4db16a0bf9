import Crypto
import Foundation
import Kernel
import Logging
import Postgres
import Synchronization
import TestSupport
import Vercel

// isolation-bench ENV_FILE BASE_URL SIMULATOR_URL DATABASE_URL [SECONDS] [HAMMERS] [SLOW_ACCOUNTS]
//
// SLOW_ACCOUNTS (1) slow users and another user, each with a linked project. First the branch
// patterns: the other user's auto-deploy test of a 250-byte branch, back to back for SECONDS / 2
// with no rule (the baseline), then with the rule `*a*a*a*a*b` and fifty patterns of the most
// wildcards allowed: p50/p99 of each, against the 10 ms target and the baseline. Then the other
// user's deployment list (database only) and Vercel project list (a route that calls Vercel,
// answered at once) are each read back to back for SECONDS (10) on a quiet stack: the baselines.
// Then the simulator answers the slow users' accounts in 3 s, HAMMERS (12) clients call their
// Vercel project lists as fast as they are answered (spread over the accounts), and both reads are
// made again. Reports p50/p99/max of each, the list's p99 against the 50 ms target, the Vercel
// read's max against 1 s, each p99 against its baseline, what the slow users' callers got, and how
// many calls reached Vercel for them.

let arguments = CommandLine.arguments
guard arguments.count >= 5 else {
    FileHandle.standardError.write(
        Data("usage: isolation-bench ENV_FILE BASE_URL SIMULATOR_URL DATABASE_URL [SECONDS] [HAMMERS]\n".utf8))
    exit(64)
}
let (base, simulator, databaseURL) = (arguments[2], arguments[3], arguments[4])
let seconds = arguments.count > 5 ? Double(arguments[5]) ?? 10 : 10
let hammerCount = arguments.count > 6 ? Int(arguments[6]) ?? 12 : 12
let slowCount = max(1, arguments.count > 7 ? Int(arguments[7]) ?? 1 : 1)
let stack = try BenchStack(envFile: arguments[1], databaseURL: databaseURL, simulator: simulator)
let (ring, secret, database, transport, client) = (
    stack.ring, stack.secret, stack.database, stack.transport, stack.client
)

/// Signs and sends requests as the platform does; usable from any thread.
struct Signer: Sendable {
    let secret: String
    let base: String

    func send(
        _ transport: CurlTransport, _ method: String, _ target: String, _ body: String = ""
    ) throws
        -> HTTPResponse
    {
        var headers = PlatformSigner.headers(method, target, body: Data(body.utf8), secret: secret).map {
            ($0.key, $0.value)
        }
        headers.append(("Content-Type", "application/json"))
        return try transport.send(
            HTTPRequest(
                method: method, url: base + target, headers: headers, body: Array(body.utf8),
                totalTimeout: .seconds(30)))
    }
}
let signer = Signer(secret: secret, base: base)

@MainActor func linked(_ name: String) throws -> BenchLinkedProject {
    try BenchLinkedProject.make(
        name,
        settings: VercelProjectSettings(
            name: "\(name)-\(UUID().uuidString.prefix(6).lowercased())",
            gitRepository: .init(type: "github", repo: "acme/\(name)")),
        simulator: simulator, database: database, ring: ring, transport: transport, client: client)
}

@MainActor func setFaults(_ token: String, _ json: String) throws {
    _ = try transport.send(
        HTTPRequest(
            method: "PUT", url: simulator + "/_sim/faults",
            headers: [("Content-Type", "application/json"), ("Authorization", "Bearer \(token)")],
            body: Array(json.utf8)))
}

@MainActor func vercelCalls(_ tokens: [String]) throws -> Int {
    try tokens.map(vercelCalls).reduce(0, +)
}

@MainActor func vercelCalls(_ token: String) throws -> Int {
    let reply = try transport.send(
        HTTPRequest(method: "GET", url: simulator + "/_sim/requests", headers: [("Authorization", "Bearer \(token)")]))
    let counts = (try? JSONSerialization.jsonObject(with: Data(reply.body))) as? [String: Any] ?? [:]
    return counts["GET /v10/projects"] as? Int ?? 0
}

let slows = try (0..<slowCount).map { try linked("slow\($0)") }
let other = try linked("other")
try setFaults(other.token, #"{"buildMs":100}"#)
for _ in 0..<5 {
    let reply = try signer.send(
        transport, "POST", "/v1/projects/\(other.project)/vercel/deploy",
        #"{"userId":"\#(other.user)","deploymentType":"preview","gitSource":{"branch":"main"}}"#)
    guard reply.status == 202 else {
        print("isolation-bench: a deploy failed: \(reply.status) \(String(decoding: reply.body, as: UTF8.self))")
        exit(1)
    }
}
let otherList = "/v1/projects/\(other.project)/vercel/deployments?userId=\(other.user)&limit=20"

let otherProjects = "/v1/projects/\(other.project)/vercel/projects?userId=\(other.user)"

/// Reads `target` as the other user back to back for `seconds`; the latency of each, in ms.
@MainActor func read(_ target: String, for seconds: Double) throws -> [Double] {
    let own = CurlTransport()
    var latencies: [Double] = []
    let end = Date().addingTimeInterval(seconds)
    while Date() < end {
        let started = Date()
        let reply = try signer.send(own, "GET", target)
        guard reply.status == 200 else {
            print("isolation-bench: \(target) answered \(reply.status): \(String(decoding: reply.body, as: UTF8.self))")
            exit(1)
        }
        latencies.append(Date().timeIntervalSince(started) * 1000)
    }
    return latencies
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
}

func format(_ value: Double) -> String { String(format: "%.1f", value) }

/// The other user's auto-deploy test of a 250-byte branch, back to back for `seconds`; each one's ms.
@MainActor func testBranch(for seconds: Double) throws -> [Double] {
    let own = CurlTransport()
    let body = #"{"userId":"\#(other.user)","branch":"\#(String(repeating: "a", count: 250))"}"#
    var latencies: [Double] = []
    let end = Date().addingTimeInterval(seconds)
    while Date() < end {
        let started = Date()
        let reply = try signer.send(own, "POST", "/v1/projects/\(other.project)/vercel/auto-deploy/test", body)
        guard reply.status == 200 else {
            print("isolation-bench: the auto-deploy test answered \(reply.status)")
            exit(1)
        }
        latencies.append(Date().timeIntervalSince(started) * 1000)
    }
    return latencies
}
_ = try testBranch(for: 1)
let plainTests = try testBranch(for: seconds / 2)
let widest = String(repeating: "*a", count: 32) + "b"
for (method, path, body) in [
    ("POST", "rules", #"{"userId":"\#(other.user)","pattern":"*a*a*a*a*b","target":"preview"}"#),
    (
        "PUT", "config",
        #"{"userId":"\#(other.user)","branchPatterns":[\#(Array(repeating: "\"\(widest)\"", count: 50).joined(separator: ","))]}"#
    ),
] {
    let reply = try signer.send(transport, method, "/v1/projects/\(other.project)/vercel/auto-deploy/\(path)", body)
    guard (200..<300).contains(reply.status) else {
        print("isolation-bench: \(path) answered \(reply.status): \(String(decoding: reply.body, as: UTF8.self))")
        exit(1)
    }
}
let widestTests = try testBranch(for: seconds / 2)
_ = try signer.send(
    transport, "PUT", "/v1/projects/\(other.project)/vercel/auto-deploy/config",
    #"{"userId":"\#(other.user)","branchPatterns":[]}"#)

_ = try read(otherList, for: 1)  // warm: connections opened, plans cached
_ = try read(otherProjects, for: 1)
let baseline = try read(otherList, for: seconds)
let baselineVercel = try read(otherProjects, for: seconds)

/// What the slow user's callers got.
final class Outcomes: Sendable {
    let counts = Mutex<(answered: Int, busy: Int, other: Int)>((0, 0, 0))
    func record(_ reply: HTTPResponse?) {
        counts.withLock { counts in
            switch reply?.status {
            case 200: counts.answered += 1
            case 503 where String(decoding: reply?.body ?? [], as: UTF8.self).contains("UPSTREAM_BUSY"):
                counts.busy += 1
            default: counts.other += 1
            }
        }
    }
}
for slow in slows { try setFaults(slow.token, #"{"latencyMs":3000}"#) }
let callsBefore = try vercelCalls(slows.map(\.token))
let outcomes = Outcomes()
let stop = Atomic<Bool>(false)
let hammers = DispatchGroup()
for index in 0..<hammerCount {
    let slow = slows[index % slows.count]
    let slowTarget = "/v1/projects/\(slow.project)/vercel/projects?userId=\(slow.user)"
    hammers.enter()
    Thread { [signer] in
        let own = CurlTransport()
        while !stop.load(ordering: .relaxed) {
            let reply = try? signer.send(own, "GET", slowTarget)
            outcomes.record(reply)
            // A refused caller tries again after a moment, as a client honouring Retry-After soon would.
            if reply?.status == 503 { usleep(20_000) }
        }
        hammers.leave()
    }.start()
}
// The slow accounts' first answers come back after 3 s: from then on each is known as slow.
usleep(3_500_000)
let hammered = try read(otherList, for: seconds)
let hammeredVercel = try read(otherProjects, for: seconds)
stop.store(true, ordering: .relaxed)
hammers.wait()
let calls = try vercelCalls(slows.map(\.token)) - callsBefore
let got = outcomes.counts.withLock { $0 }

let (baseP99, hammeredP99) = (percentile(baseline, 0.99), percentile(hammered, 0.99))
let (vercelBaseP99, vercelP99) = (percentile(baselineVercel, 0.99), percentile(hammeredVercel, 0.99))
let (plainP99, widestP99) = (percentile(plainTests, 0.99), percentile(widestTests, 0.99))
print(
    """
      auto-deploy test of a 250-byte branch, no rule      p50 \(format(percentile(plainTests, 0.5))) ms, p99 \(format(plainP99)) ms over \(plainTests.count) tests
      the same, `*a*a*a*a*b` and 50 patterns of 32 wildcards  p50 \(format(percentile(widestTests, 0.5))) ms, p99 \(format(widestP99)) ms, max \(format(widestTests.max() ?? .nan)) ms over \(widestTests.count) tests
      p99 against the 10 ms target                \(String(format: "%.2f", widestP99 / 10))   (under 1 meets it)
      p99 against the plain test's p99            \(String(format: "%.2f", widestP99 / plainP99))
      another user's deployment list, quiet       p50 \(format(percentile(baseline, 0.5))) ms, p99 \(format(baseP99)) ms over \(baseline.count) reads
      the same while the slow account is hammered p50 \(format(percentile(hammered, 0.5))) ms, p99 \(format(hammeredP99)) ms, max \(format(hammered.max() ?? .nan)) ms over \(hammered.count) reads
      p99 against the 50 ms target                \(String(format: "%.2f", hammeredP99 / 50))   (under 1 meets it)
      p99 against the quiet p99                   \(String(format: "%.2f", hammeredP99 / baseP99))
      another user's Vercel projects, quiet       p50 \(format(percentile(baselineVercel, 0.5))) ms, p99 \(format(vercelBaseP99)) ms over \(baselineVercel.count) reads (a route that calls Vercel)
      the same while the slow account is hammered p50 \(format(percentile(hammeredVercel, 0.5))) ms, p99 \(format(vercelP99)) ms, max \(format(hammeredVercel.max() ?? .nan)) ms over \(hammeredVercel.count) reads
      p99 against the quiet p99                   \(String(format: "%.2f", vercelP99 / vercelBaseP99))
      max against the 1 s target                  \(String(format: "%.3f", (hammeredVercel.max() ?? .nan) / 1000))   (under 1 meets it)
      the \(slowCount) slow accounts' \(hammerCount) callers got   \(got.answered) answers, \(got.busy) × 503 UPSTREAM_BUSY, \(got.other) other
      calls that reached Vercel for them          \(calls) in \(format(2 * seconds + 0.5)) s (3 s each)
    """)
