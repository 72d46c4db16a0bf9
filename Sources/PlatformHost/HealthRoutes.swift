import FastCGI
import Glibc
import Kernel
@_spi(Host) import Platform

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
#endif

extension Router where Context == WorkerServices {
    /// `GET /healthz/<group>`: 200 `{"group","database":"ok"}`, or 503 when the database does not
    /// answer. With fault routes enabled (tests only), also `/healthz/<group>/fault/{throw,trap,sleep,stream}`.
    mutating func addHealthRoutes(group: String, faultRoutes: Bool) {
        add("GET", "/healthz/\(group)", reach: .local) { _, context in
            do {
                try context.database.query("SELECT 1 AS ok")
                return .json(JSONValue.object(["group": .string(group), "database": "ok"]))
            } catch {
                context.logger.warning("health check: database unreachable", metadata: ["error.detail": "\(error)"])
                return .json(JSONValue.object(["group": .string(group), "database": "unreachable"]), status: 503)
            }
        }
        guard faultRoutes else { return }
        add("GET", "/healthz/\(group)/fault/throw", reach: .local) { _, _ in
            throw DeliberateFault()
        }
        add("GET", "/healthz/\(group)/fault/sleep") { request, _ in
            let milliseconds = min(max(Int(request.query("ms") ?? "") ?? 100, 0), 30000)
            usleep(useconds_t(milliseconds * 1000))
            return .json(JSONValue.object(["slept": .integer(milliseconds)]))
        }
        // The same, in the subscriptions' line of the upstream queue (as the log routes are).
        add("GET", "/healthz/\(group)/fault/subscribe-sleep", line: UpstreamLine.subscriptions) { request, _ in
            let milliseconds = min(max(Int(request.query("ms") ?? "") ?? 100, 0), 30000)
            usleep(useconds_t(milliseconds * 1000))
            return .json(JSONValue.object(["slept": .integer(milliseconds)]))
        }
        add("GET", "/healthz/\(group)/fault/stream") { request, _ in
            let events = min(max(Int(request.query("events") ?? "") ?? 3, 0), 20)
            let interval = min(max(Int(request.query("ms") ?? "") ?? 200, 0), 2000)
            return .eventStream { stream in
                for index in 0..<events {
                    if index > 0 { usleep(useconds_t(interval * 1000)) }
                    try stream.sendEvent("tick \(index)", event: "tick", id: "\(index)")
                }
            }
        }
        add("GET", "/healthz/\(group)/fault/trap", reach: .local) { request, _ in
            // An out-of-bounds index: the kind of trap a handler bug causes.
            let values = [Int](repeating: 0, count: request.path.count % 2)
            return .json(JSONValue.integer(values[request.path.count + 1]))
        }
    }
}

/// Thrown by the fault route to exercise the 500 path.
struct DeliberateFault: Error {}
