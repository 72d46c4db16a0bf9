import FastCGI
import Foundation

/// `GET /v3/deployments/{id}/events`: the build log of a deployment, derived from its clock. Without
/// `follow=1`, the events so far as a JSON array; with it, JSON lines as they happen, ending when
/// the deployment is READY, ERROR or CANCELED.
enum EventRoutes {
    struct Event: Encodable {
        let type: String
        let created: Int64
        let payload: Payload

        struct Payload: Encodable {
            let deploymentId: String
            let id: String
            let date: Int64
            let serial: String
            let text: String?
            let info: Info
            let readyState: String?
        }

        struct Info: Encodable {
            let type: String
            let name: String
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
                (b * 9 / 10, "stdout", "Build Completed in /vercel/output", nil), (b, "deployment-state", nil, "READY"),
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
        Event(
            type: type, created: at,
            payload: .init(
                deploymentId: deployment.id, id: "\(deployment.id)-\(index)", date: at,
                serial: String(format: "%020d", at * 100 + Int64(index)),
                text: text, info: .init(type: "build", name: "bld_\(deployment.id.dropFirst(4).prefix(12))"),
                readyState: state))
    }

    static func add(to router: inout Router<SimulatorState>) {
        router.api("GET", "/v3/deployments/:id/events") { request, state, caller in
            let id = request.parameter("id") ?? ""
            let deployment = try DeploymentRoutes.find(id, caller, state)
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            guard request.query("follow") == "1" else {
                let now = state.now()
                return .json(timeline(of: deployment).filter { $0.created <= now })
            }
            return Response(
                status: 200, headers: [("Content-Type", "application/stream+json"), ("X-Accel-Buffering", "no")],
                body: .stream { stream in
                    var sent = 0
                    while true {
                        // Re-read: a cancel changes the rest of the timeline.
                        let current = state.with { $0.deployments[deployment.id] } ?? deployment
                        let events = timeline(of: current)
                        let now = state.now()
                        while sent < events.count, events[sent].created <= now {
                            try stream.send(Array(try encoder.encode(events[sent])) + [0x0a])
                            sent += 1
                        }
                        if sent == events.count, current.state(at: now) == events.last?.payload.readyState { return }
                        usleep(20_000)
                    }
                })
        }
    }
}
