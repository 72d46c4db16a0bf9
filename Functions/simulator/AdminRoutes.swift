import FastCGI
import Foundation

/// The simulator's own controls under `/_sim/`, for tests and local use: make accounts, set fault
/// knobs, read request counts. Loopback only (nginx serves the simulator on 127.0.0.1).
enum AdminRoutes {
    struct NewAccount: Decodable {
        var username: String
        var teams: [String]?
    }

    struct Created: Encodable {
        let token: String
        let user: SimulatedUser
        let teams: [SimulatedTeam]
    }

    static func add(to router: inout Router<SimulatorState>) {
        router.add("POST", "/_sim/accounts") { request, state in
            let wanted = try request.decodeJSON(NewAccount.self)
            let user = SimulatedUser(
                id: SimulatorState.identifier(""), email: "\(wanted.username)@example.com", name: wanted.username,
                username: wanted.username, defaultTeamId: nil)
            let teams = (wanted.teams ?? []).map { SimulatedTeam(id: SimulatorState.identifier("team_"), slug: $0, name: $0) }
            let token = SimulatorState.identifier("vca_")
            state.with { $0.accounts[token] = SimulatorState.Account(user: user, teams: teams) }
            return .json(Created(token: token, user: user, teams: teams), status: 201)
        }
        router.add("GET", "/_sim/faults") { _, state in
            .json(state.with { $0.faults })
        }
        router.add("PUT", "/_sim/faults") { request, state in
            let faults = try request.decodeJSON(SimulatorState.Faults.self)
            state.with { $0.faults = faults }
            return .json(faults)
        }
        router.add("GET", "/_sim/requests") { _, state in
            .json(state.with { $0.requests })
        }
        router.add("POST", "/_sim/reset") { _, state in
            state.with {
                $0.faults = SimulatorState.Faults()
                $0.requests = [:]
            }
            return Response(status: 204)
        }
        router.add("GET", "/healthz/simulator") { _, _ in
            .json(JSONValue.object(["group": "simulator"]))
        }
    }
}
