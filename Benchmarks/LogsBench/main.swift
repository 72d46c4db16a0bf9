import Crypto
import Foundation
import Kernel
import Logging
import Postgres
import TestSupport
import Vercel

// logs-bench ENV_FILE HTTP_PORT SIMULATOR_URL DATABASE_URL DEPLOYMENTS_PID_FILE [READERS] [DEPLOYMENTS]
//
// READERS (1,000) readers of DEPLOYMENTS (10) deployments that are building, each subscribed through
// nginx (signed, as the platform subscribes) to `…/deployments/:id/logs`. Reports the readers
// served and refused, whether each got every event in order, the Vercel event streams opened (the
// simulator's count), the delay from each event's time in the simulator to its arrival at a reader
// (median, p99), the memory nginx's workers and the deployments function added, and two other
// routes of the project (its deployment list, and its Vercel project list, which calls Vercel)
// read quietly for 3 s before and during the subscribe burst: p50/p99 of each, the burst's p99
// against the quiet one and against the 50 ms target.

let arguments = CommandLine.arguments
guard arguments.count >= 6 else {
    FileHandle.standardError.write(
        Data(
            "usage: logs-bench ENV_FILE HTTP_PORT SIMULATOR_URL DATABASE_URL DEPLOYMENTS_PID_FILE [READERS] [DEPLOYMENTS]\n"
                .utf8))
    exit(64)
}
let port = UInt16(arguments[2]) ?? 18100
let (simulator, databaseURL, pidFile) = (arguments[3], arguments[4], arguments[5])
let readerCount = arguments.count > 6 ? Int(arguments[6]) ?? 1000 : 1000
let deploymentCount = arguments.count > 7 ? Int(arguments[7]) ?? 10 : 10
let stack = try BenchStack(envFile: arguments[1], databaseURL: databaseURL, simulator: simulator)
let (ring, secret, database, transport, client) = (
    stack.ring, stack.secret, stack.database, stack.transport, stack.client
)
let base = "http://127.0.0.1:\(port)"

var limit = rlimit()
getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
limit.rlim_cur = limit.rlim_max
setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)

@Sendable func milliseconds() -> Double { Date().timeIntervalSince1970 * 1000 }

func json(_ response: HTTPResponse) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] ?? [:]
}

@MainActor func signed(_ method: String, _ target: String, _ body: String = "") throws -> HTTPResponse {
    var headers = PlatformSigner.headers(method, target, body: Data(body.utf8), secret: secret).map {
        ($0.key, $0.value)
    }
    headers.append(("Content-Type", "application/json"))
    return try transport.send(HTTPRequest(method: method, url: base + target, headers: headers, body: Array(body.utf8)))
}

/// Resident memory of a process, in KiB.
func residentKiB(_ pid: String) -> Int {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
    return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
}

func nginxWorkers() -> [String] {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.filter { Int($0) != nil }.filter {
        ((try? String(contentsOfFile: "/proc/\($0)/cmdline", encoding: .utf8)) ?? "").hasPrefix("nginx: worker")
    } ?? []
}

// A simulated account whose builds take 20 s, its project connected to a repository, and a
// platform project linked to it.
let linked = try BenchLinkedProject.make(
    "logs-bench",
    settings: VercelProjectSettings(
        name: "logs-bench-\(UUID().uuidString.prefix(6).lowercased())",
        gitRepository: .init(type: "github", repo: "acme/bench")),
    simulator: simulator, database: database, ring: ring, transport: transport, client: client)
let (token, user, project, vercelProject) = (linked.token, linked.user, linked.project, linked.vercelProject)
let credentials = VercelClient.Credentials(accessToken: token)
_ = try transport.send(
    HTTPRequest(
        method: "PUT", url: simulator + "/_sim/faults",
        headers: [("Content-Type", "application/json"), ("Authorization", "Bearer \(token)")],
        body: Array(#"{"buildMs":20000}"#.utf8)))
let path = "/v1/projects/\(project)/vercel"
// Other routes meanwhile, one after the other every 5 ms, from 3 s before the burst: the project's
// deployment list (served from the database) and its Vercel project list (a route that calls
// Vercel, in the same project's turn of the upstream queue as the readers' authorizations).
struct Sample {
    let started: Double
    let milliseconds: Double
    let route: String
}
final class LatencyLog: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Sample] = []
    func add(_ value: Sample) { lock.withLock { values.append(value) } }
    var all: [Sample] { lock.withLock { values } }
}
final class LatencyFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}
let otherLatencies = LatencyLog()
let stopOther = LatencyFlag()
let otherRoutes = [
    ("deployment list", "\(path)/deployments?userId=\(user)&limit=20"),
    ("Vercel project list", "\(path)/projects?userId=\(user)"),
]
let (otherSecret, otherBase) = (secret, base)
let (otherLog, otherStop) = (otherLatencies, stopOther)
let otherThread = Thread {
    let own = CurlTransport()
    while !otherStop.isSet {
        for (route, target) in otherRoutes {
            let headers = PlatformSigner.headers("GET", target, body: Data(), secret: otherSecret).map {
                ($0.key, $0.value)
            }
            let started = milliseconds()
            if let reply = try? own.send(HTTPRequest(method: "GET", url: otherBase + target, headers: headers)),
                reply.status == 200
            {
                otherLog.add(Sample(started: started, milliseconds: milliseconds() - started, route: route))
            }
            usleep(5_000)
        }
    }
}
otherThread.start()
usleep(3_000_000)
let quietEnd = milliseconds()
var deployments: [String] = []
for _ in 0..<deploymentCount {
    let reply = try signed(
        "POST", "\(path)/deploy", #"{"userId":"\#(user)","deploymentType":"preview","gitSource":{"branch":"main"}}"#)
    guard reply.status == 202, let id = (json(reply)["deployment"] as? [String: Any])?["id"] as? String else {
        print("logs-bench: a deploy failed: \(reply.status) \(String(decoding: reply.body, as: UTF8.self))")
        exit(1)
    }
    deployments.append(id)
}
let deploymentsPID =
    (try? String(contentsOfFile: pidFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
let memoryBefore = (nginx: nginxWorkers().map(residentKiB).reduce(0, +), function: residentKiB(deploymentsPID))

/// One reader: its socket, what it has read, and its events.
final class Reader {
    let fd: Int32
    let deployment: String
    var buffer: [UInt8] = []
    var status: Int?
    var events: [(id: String, type: String, created: Double?)] = []
    var done = false

    init(fd: Int32, deployment: String) {
        self.fd = fd
        self.deployment = deployment
    }
}

@MainActor func connectReader(_ deployment: String) throws -> Reader {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard connected == 0 else { throw NSError(domain: "connect", code: Int(errno)) }
    let target = "\(path)/deployments/\(deployment)/logs?userId=\(user)"
    let headers = PlatformSigner.headers("GET", target, body: Data(), secret: secret).map {
        "\($0.key): \($0.value)\r\n"
    }
    .joined()
    let request = Array(
        "GET \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\(headers)\r\n".utf8)
    _ = request.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    return Reader(fd: fd, deployment: deployment)
}

let openedStarted = milliseconds()
var readers: [Reader] = []
for index in 0..<readerCount {
    readers.append(try connectReader(deployments[index % deployments.count]))
}
let openedIn = milliseconds() - openedStarted
/// When the last reader's answer (its 200 or its refusal) came: the burst of authorizations is over.
var subscribedAt: Double?
var delays: [Double] = []
var delaysByType: [String: [Double]] = [:]
let deadline = Date().addingTimeInterval(90)
var chunk = [UInt8](repeating: 0, count: 65536)
while Date() < deadline, readers.contains(where: { !$0.done }) {
    var polls = readers.filter { !$0.done }.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
    let ready = poll(&polls, nfds_t(polls.count), 1000)
    guard ready > 0 else { continue }
    let now = milliseconds()
    let open = readers.filter { !$0.done }
    for (index, entry) in polls.enumerated() where entry.revents != 0 {
        let reader = open[index]
        let count = read(reader.fd, &chunk, chunk.count)
        if count <= 0 {
            reader.done = true
            continue
        }
        reader.buffer += chunk[0..<count]
        var text = String(decoding: reader.buffer, as: UTF8.self).replacingOccurrences(of: "\r", with: "")
        if reader.status == nil, let end = text.range(of: "\n\n") {
            reader.status = Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0
            if subscribedAt == nil, !readers.contains(where: { $0.status == nil }) { subscribedAt = milliseconds() }
            if reader.status != 200 {
                reader.done = true
                continue
            }
            text = String(text[end.upperBound...])
        } else if reader.status == nil {
            continue
        }
        // Whole events only; a partial one waits for the rest.
        var blocks = text.components(separatedBy: "\n\n")
        let rest = blocks.removeLast()
        reader.buffer = Array(rest.utf8)
        for block in blocks {
            let lines = block.split(separator: "\n").map(String.init)
            guard let type = lines.first(where: { $0.hasPrefix("event: ") })?.dropFirst(7), type != "ping" else {
                continue
            }
            let id = lines.first { $0.hasPrefix("id: ") }.map { String($0.dropFirst(4)) } ?? ""
            let data = lines.filter { $0.hasPrefix("data: ") }.map { String($0.dropFirst(6)) }.joined()
            let created = ((try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any])?["created"]
                .flatMap { ($0 as? NSNumber)?.doubleValue }
            if let created {
                delays.append(now - created)
                delaysByType[String(type), default: []].append(now - created)
            }
            reader.events.append((id, String(type), created))
            if type == "end" { reader.done = true }
        }
    }
}
stopOther.set()
let memoryAfter = (nginx: nginxWorkers().map(residentKiB).reduce(0, +), function: residentKiB(deploymentsPID))
for reader in readers { close(reader.fd) }

let served = readers.filter { $0.status == 200 }.count
let ended = readers.filter { $0.events.last?.type == "end" }.count
// Every reader of a deployment got the same events in the same order.
var complete = 0
for deployment in deployments {
    let group = readers.filter { $0.deployment == deployment && $0.status == 200 }
    guard let first = group.first else { continue }
    let ids = first.events.map(\.id)
    complete += group.filter { $0.events.map(\.id) == ids && $0.events.last?.type == "end" }.count
}
let streams =
    json(
        try transport.send(
            HTTPRequest(
                method: "GET", url: simulator + "/_sim/requests", headers: [("Authorization", "Bearer \(token)")])))[
        "GET /v3/deployments/:id/events"] as? Int ?? 0
func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
}
let other = otherLatencies.all
let burstEnd = subscribedAt ?? milliseconds()
func otherLine(_ route: String) -> String {
    let quiet = other.filter { $0.route == route && $0.started < quietEnd }.map(\.milliseconds)
    let burst = other.filter { $0.route == route && $0.started >= openedStarted && $0.started <= burstEnd }
        .map(\.milliseconds)
    let (quietP99, burstP99) = (percentile(quiet, 0.99), percentile(burst, 0.99))
    return """
          \(route), quiet    p50 \(String(format: "%.1f", percentile(quiet, 0.5))) ms, p99 \(String(format: "%.1f", quietP99)) ms over \(quiet.count) reads
          \(route), during the subscribe burst   p50 \(String(format: "%.1f", percentile(burst, 0.5))) ms, p99 \(String(format: "%.1f", burstP99)) ms, max \(String(format: "%.1f", percentile(burst, 1))) ms over \(burst.count) reads
          \(route): burst p99 / quiet p99 = \(String(format: "%.2f", burstP99 / quietP99)); burst p99 / 50 ms target = \(String(format: "%.2f", burstP99 / 50))
        """
}
for (type, values) in delaysByType.sorted(by: { $0.key < $1.key }) {
    print("  delay of \(type): median \(Int(percentile(values, 0.5))) ms, max \(Int(percentile(values, 1)))")
}
print(
    """
      readers                              \(readerCount) of \(deploymentCount) deployments building (opened in \(Int(openedIn)) ms)
      served / refused                     \(served) / \(readerCount - served)
      every event, in order, to the end    \(complete) readers (\(ended) got the end event)
      Vercel event streams opened          \(streams)   target: \(deploymentCount)
      delay, simulator event → reader      median \(String(format: "%.1f", percentile(delays, 0.5))) ms, p99 \(String(format: "%.1f", percentile(delays, 0.99))) ms over \(delays.count) deliveries   target: median < 100 ms
      memory added                         nginx workers \((memoryAfter.nginx - memoryBefore.nginx) / 1024) MiB, deployments function \((memoryAfter.function - memoryBefore.function) / 1024) MiB
      subscribe burst                      \(Int(burstEnd - openedStarted)) ms from the first reader's request to the last one's answer
    """)
print(otherLine("deployment list"))
print(otherLine("Vercel project list"))
