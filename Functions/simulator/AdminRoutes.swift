import FastCGI
import Foundation
import Kernel

/// The simulator's own controls under `/_sim/`, for tests and local use: make accounts, set fault
/// knobs, read request counts. Loopback only (nginx serves the simulator on 127.0.0.1).
enum AdminRoutes {
    struct NewAccount: Decodable {
        var username: String
        var teams: [String]?
        /// An account for a person at a browser: the consent page offers it (tests' accounts are
        /// left off, so the page stays short on a stack a test suite has used).
        var person: Bool?
    }

    struct Created: Encodable {
        let token: String
        let user: SimulatedUser
        let teams: [SimulatedTeam]
    }

    static func account(of request: Request, _ state: SimulatorState) throws -> String {
        guard let authorization = request.headers["authorization"], authorization.hasPrefix("Bearer "),
            state.with({ $0.accounts[String(authorization.dropFirst(7))] != nil })
        else {
            throw HTTPError(401, code: "UNKNOWN_ACCOUNT", message: "Send an account's token as Authorization: Bearer")
        }
        return String(authorization.dropFirst(7))
    }

    static func add(to router: inout Router<SimulatorState>) {
        router.add("POST", "/_sim/accounts") { request, state in
            let wanted = try request.decodeJSON(NewAccount.self)
            let user = SimulatedUser(
                id: SimulatorState.identifier(""), email: "\(wanted.username)@example.com", name: wanted.username,
                username: wanted.username, defaultTeamId: nil)
            let teams = (wanted.teams ?? []).map {
                SimulatedTeam(id: SimulatorState.identifier("team_"), slug: $0, name: $0)
            }
            let token = SimulatorState.identifier("vca_")
            state.with {
                $0.accounts[token] = SimulatorState.Account(user: user, teams: teams)
                $0.controlTokens[user.id] = token
                if wanted.person == true { $0.people.append(user.id) }
            }
            return .json(Created(token: token, user: user, teams: teams), status: 201)
        }
        // Faults and counts belong to the account whose token is sent as `Authorization: Bearer`.
        router.add("GET", "/_sim/faults") { request, state in
            let token = try account(of: request, state)
            return .json(state.with { $0.faults[token] ?? SimulatorState.Faults() })
        }
        router.add("PUT", "/_sim/faults") { request, state in
            let token = try account(of: request, state)
            let faults = try request.decodeJSON(SimulatorState.Faults.self)
            state.with { $0.faults[token] = faults }
            return .json(faults)
        }
        // Answer variants of an account: {"variants": [...], "scopes": [...]?} (SimulatedShapes).
        router.add("GET", "/_sim/shapes") { request, state in
            let token = try account(of: request, state)
            return .json(state.shapes(token))
        }
        router.add("PUT", "/_sim/shapes") { request, state in
            let token = try account(of: request, state)
            let shapes = try request.decodeJSON(SimulatedShapes.self)
            state.with { $0.shapes[token] = shapes }
            return .json(shapes)
        }
        // An integration configuration of this account, as an installation would make one.
        router.add("POST", "/_sim/configurations") { request, state in
            let token = try account(of: request, state)
            let id = SimulatorState.identifier("icfg_")
            state.with { data in
                guard let user = data.accounts[token]?.user.id else { return }
                data.configurationOwners[id] = user
            }
            return .json(JSONValue.object(["id": .string(id)]), status: 201)
        }
        router.add("GET", "/_sim/requests") { request, state in
            let token = try account(of: request, state)
            return .json(state.with { $0.requests[token] ?? [:] })
        }
        router.add("POST", "/_sim/reset") { request, state in
            let token = try account(of: request, state)
            state.with {
                $0.faults[token] = nil
                $0.requests[token] = nil
            }
            return Response(status: 204)
        }
        // Webhook knobs of an account: {"url","secret","drop","duplicate","reorder","reorderWindowMs"}.
        router.add("PUT", "/_sim/webhooks") { request, state in
            let token = try account(of: request, state)
            let settings = try request.decodeJSON(WebhookSender.Settings.self)
            state.with { $0.webhooks[token] = settings }
            return .json(settings)
        }
        // A sink for webhooks, so tests can see what was sent: POST records, GET lists.
        // A webhook sink for tests; `PUT /_sim/inbox/:name/failures {"count": n}` makes it refuse
        // the next n deliveries with a 503, as a receiver that is down would.
        router.add("POST", "/_sim/inbox/:name", bodyLimit: 1 << 20) { request, state in
            let name = request.parameter("name") ?? ""
            let refused = state.with { data -> Bool in
                guard let left = data.inboxFailures[name], left > 0 else { return false }
                data.inboxFailures[name] = left - 1
                data.inboxRefused[name, default: 0] += 1
                return true
            }
            if refused { return .json(JSONValue.object(["error": "down"]), status: 503) }
            let item = SimulatorState.InboxItem(
                signature: request.headers["x-vercel-signature"], webhookID: request.headers["webhook-id"],
                webhookTimestamp: request.headers["webhook-timestamp"],
                webhookSignature: request.headers["webhook-signature"],
                body: String(decoding: request.body, as: UTF8.self))
            state.with { $0.received[name, default: []].append(item) }
            return .json(JSONValue.object([:]))
        }
        router.add("GET", "/_sim/inbox/:name") { request, state in
            .json(state.with { $0.received[request.parameter("name") ?? ""] ?? [] })
        }
        router.add("PUT", "/_sim/inbox/:name/failures") { request, state in
            struct Failures: Decodable { let count: Int }
            let count = max(0, min(try request.decodeJSON(Failures.self).count, 1000))
            state.with { $0.inboxFailures[request.parameter("name") ?? ""] = count }
            return Response(status: 204)
        }
        router.add("GET", "/_sim/inbox/:name/refused") { request, state in
            .json(
                JSONValue.object([
                    "refused": .integer(state.with { $0.inboxRefused[request.parameter("name") ?? ""] ?? 0 })
                ]))
        }
        // The tokens the OAuth endpoints issued to this account's user.
        router.add("GET", "/_sim/tokens") { request, state in
            let token = try account(of: request, state)
            return .json(state.with { data in data.issuedTokens[data.accounts[token]?.user.id ?? ""] ?? [] })
        }
        // Publishes a DNS record the simulated Vercel can "see": {"name","type","value"} (A, CNAME,
        // TXT or CAA); an empty value removes the record, as a person editing their zone would.
        router.add("PUT", "/_sim/dns") { request, state in
            struct Record: Decodable {
                let name: String
                let type: String
                let value: String
            }
            _ = try account(of: request, state)
            let record = try request.decodeJSON(Record.self)
            state.with {
                $0.dns[record.name.lowercased(), default: [:]][record.type.uppercased()] =
                    record.value.isEmpty ? nil : record.value
            }
            return Response(status: 204)
        }
        // Claims an apex domain for this account (or its team `{"teamId"}`): another account adding
        // a name under it is refused with 403, as for a domain another Vercel team owns.
        router.add("PUT", "/_sim/domains/claim") { request, state in
            struct Claim: Decodable {
                let apex: String
                let teamId: String?
            }
            let token = try account(of: request, state)
            let claim = try request.decodeJSON(Claim.self)
            state.with { data in
                data.domainOwners[claim.apex.lowercased()] = claim.teamId ?? data.accounts[token]?.user.id
            }
            return Response(status: 204)
        }
        // The production branch of a git-connected project, changed as a person does in Vercel's
        // dashboard (the API has no call for it): {"branch"}.
        router.add("PUT", "/_sim/projects/:id/production-branch") { request, state in
            struct Branch: Decodable { let branch: String }
            _ = try account(of: request, state)
            let branch = try request.decodeJSON(Branch.self).branch
            let changed = state.with { data -> Bool in
                guard var project = data.projects[request.parameter("id") ?? ""], project.link != nil else {
                    return false
                }
                project.link?.productionBranch = branch
                project.updatedAt = data.tick()
                data.projects[project.id] = project
                return true
            }
            return Response(status: changed ? 204 : 404)
        }
        // A building deployment's build ends now (see DeploymentRoutes.finish): 204, else 404.
        router.add("POST", "/_sim/deployments/:id/finish") { request, state in
            let token = try account(of: request, state)
            let finished = DeploymentRoutes.finish(request.parameter("id") ?? "", token: token, state)
            return Response(status: finished ? 204 : 404)
        }
        // A person edits a variable in Vercel's dashboard, behind the service's back: its value
        // (and its updatedAt) change. {"value"}; the first variable of the key when several exist.
        router.add("PUT", "/_sim/projects/:id/env/:key") { request, state in
            struct Edit: Decodable { let value: String }
            _ = try account(of: request, state)
            let value = try request.decodeJSON(Edit.self).value
            let edited = state.with { data -> Bool in
                guard
                    let env = data.envs.values.filter({
                        $0.projectId == request.parameter("id") && $0.key == request.parameter("key")
                    }).min(by: { $0.createdAt < $1.createdAt })
                else { return false }
                var changed = env
                changed.value = value
                changed.updatedAt = data.tick()
                data.envs[env.id] = changed
                return true
            }
            return Response(status: edited ? 204 : 404)
        }
        router.add("GET", "/healthz/simulator") { _, _ in
            .json(JSONValue.object(["group": "simulator"]))
        }
    }
}
