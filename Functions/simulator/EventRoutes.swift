import FastCGI
import Foundation
import Kernel

/// `GET /v3/deployments/{id}/events`: the build log of a deployment, derived from its clock. Without
/// `follow=1`, the events so far as a JSON array; with it, JSON lines as they happen (a keepalive
/// `{}` during each quiet half second), ending when the deployment is READY, ERROR or CANCELED.
/// Events are flat, as Vercel sends them today (`{created, date, deploymentId, id, info, serial,
/// text, type, level}`, `info.readyState` on deployment-state), with an `alias-assigned` item
/// (no `created`) before a successful build's READY; the `wrappedEvents` shape sends the older
/// `{type, created, payload}` form, which carries no state; `nullEvents` adds `null` items.
enum EventRoutes {
    struct Event {
        let type: String
        let created: Int64
        let deploymentId: String
        let id: String
        let serial: String
        let text: String?
        let level: String?
        let info: Info
        /// alias-assigned: not timed by `created`.
        var untimed: Bool { type == "alias-assigned" }

        struct Info: Encodable {
            let type: String
            let name: String
            let step: String?
            let readyState: String?
        }

        func json(_ shapes: SimulatedShapes) -> JSONValue {
            var info: [String: JSONValue] = ["type": .string(self.info.type), "name": .string(self.info.name)]
            if shapes.has(.wrappedEvents) {
                if let step = self.info.step { info["step"] = .string(step) }
                var payload: [String: JSONValue] = [
                    "deploymentId": .string(deploymentId), "id": .string(id), "date": .integer(Int(created)),
                    "serial": .string(serial), "info": .object(info),
                ]
                if let text { payload["text"] = .string(text) }
                return .object(["type": .string(type), "created": .integer(Int(created)), "payload": .object(payload)])
            }
            if let step = self.info.step { info["step"] = .string(step) }
            if let readyState = self.info.readyState { info["readyState"] = .string(readyState) }
            var fields: [String: JSONValue] = [
                "type": .string(type), "date": .integer(Int(created)), "deploymentId": .string(deploymentId),
                "id": .string(id), "serial": .string(serial), "info": .object(info),
            ]
            if !untimed { fields["created"] = .integer(Int(created)) }
            if let text { fields["text"] = .string(text) }
            if let level { fields["level"] = .string(level) }
            return .object(fields)
        }
    }

    /// Every event of `deployment` with the time it happens, in order.
    static func timeline(of deployment: SimulatedDeployment) -> [Event] {
        let b = deployment.buildMs
        var steps: [(Int64, String, String?, String?)] = [
            (0, "deployment-state", nil, "QUEUED"),
            (b * 2 / 5, "command", "Running \"vercel build\"", nil),
            (b / 2, "stdout", "Installing dependencies...", nil),
            (b * 7 / 10, "stdout", "Building \(deployment.name)...", nil),
        ]
        if deployment.failsAtBuild {
            steps += [
                (b * 9 / 10, "stderr", "Error: Command \"npm run build\" exited with 1", nil), (b, "exit", "1", nil),
                (b, "deployment-state", nil, "ERROR"),
            ]
        } else {
            steps += [
                (b * 9 / 10, "stdout", "Build Completed in /vercel/output", nil),
                (b, "alias-assigned", nil, nil), (b, "deployment-state", nil, "READY"),
            ]
        }
        var events: [Event] = []
        for (index, step) in steps.enumerated() {
            let at = deployment.createdAt + step.0
            if let canceledAt = deployment.canceledAt, at >= canceledAt {
                events.append(event(deployment, index, canceledAt, "deployment-state", nil, "CANCELED"))
                break
            }
            events.append(event(deployment, index, at, step.1, step.2, step.3))
        }
        return events
    }

    private static func event(
        _ deployment: SimulatedDeployment, _ index: Int, _ at: Int64, _ type: String, _ text: String?, _ state: String?
    ) -> Event {
        // Vercel's serials are decimal strings that sort as the events happened: the time, then the
        // event's place.
        let place = String(index)
        return Event(
            type: type, created: at, deploymentId: deployment.id, id: "\(deployment.id)-\(index)",
            serial: "\(at)" + String(repeating: "0", count: max(0, 6 - place.count)) + place, text: text,
            level: type == "stderr" ? "error" : nil,
            info: .init(
                type: "build", name: "bld_\(deployment.id.dropFirst(4).prefix(12))",
                step: ["command", "stdout", "stderr", "exit"].contains(type) ? "build" : nil, readyState: state))
    }

    /// The events an account's shapes send: the older wrapped form had no alias-assigned item.
    static func timeline(of deployment: SimulatedDeployment, _ shapes: SimulatedShapes) -> [Event] {
        timeline(of: deployment).filter { !(shapes.has(.wrappedEvents) && $0.untimed) }
    }

    static func add(to router: inout Router<SimulatorState>) {
        router.api("GET", "/v3/deployments/:id/events") { request, state, caller in
            let id = request.parameter("id") ?? ""
            let deployment = try DeploymentRoutes.find(id, caller, state)
            let shapes = state.shapes(caller.token)
            guard request.query("follow") == "1" else {
                let now = state.now()
                var items: [JSONValue] = []
                for event in timeline(of: deployment, shapes) where event.created <= now {
                    if shapes.has(.nullEvents) { items.append(.null) }
                    items.append(event.json(shapes))
                }
                return .json(JSONValue.array(items))
            }
            return Response(
                status: 200, headers: [("Content-Type", "application/stream+json"), ("X-Accel-Buffering", "no")],
                body: .stream { stream in
                    var sent = 0
                    var quietSince = state.now()
                    while true {
                        // Re-read: a cancel changes the rest of the timeline.
                        let current = state.with { $0.deployments[deployment.id] } ?? deployment
                        let events = timeline(of: current, shapes)
                        let now = state.now()
                        while sent < events.count, events[sent].created <= now {
                            if shapes.has(.nullEvents) { try stream.send(Array("null\n".utf8)) }
                            try stream.send(Array(events[sent].json(shapes).serializedText.utf8) + [0x0a])
                            sent += 1
                            quietSince = now
                        }
                        if sent == events.count, current.state(at: now) == events.last?.info.readyState { return }
                        if now - quietSince >= 500 {
                            try stream.send(Array("{}\n".utf8))
                            quietSince = now
                        }
                        usleep(20_000)
                    }
                })
        }
    }
}
