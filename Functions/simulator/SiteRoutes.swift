import FastCGI
import Foundation
import Kernel

/// A deployment's own pages, `https://<deployment url>/…`, as a smoke check reaches them: nginx's
/// server for `*.vercel.app` on the simulator's port hands every request to `/_sim/site/:host`
/// with the path asked for in `X-Site-Path`. A READY deployment answers 200 with a small page,
/// unless its knob says otherwise; any other host or state answers Vercel's 404.
enum SiteRoutes {
    /// How a deployment's pages answer, set by a test: `PUT /_sim/deployments/:id/site`.
    struct Behaviour: Codable, Sendable, Equatable {
        var status = 200
        var body: String?
        /// A `Location` to answer with (with a 3xx status).
        var location: String?
        var delayMs = 0
        /// Only these paths behave so; nil for every path.
        var paths: [String]?
    }

    static func add(to router: inout Router<SimulatorState>) {
        router.add("GET", "/_sim/site/:host") { request, state in
            let host = (request.parameter("host") ?? "").lowercased()
            let path = request.headers["x-site-path"] ?? "/"
            let now = state.now()
            let found = state.with { data -> (SimulatedDeployment, Behaviour?)? in
                guard let deployment = data.deployments.values.first(where: { $0.url == host }) else { return nil }
                data.siteRequests[deployment.id, default: []].append(path)
                return (deployment, data.sites[deployment.id])
            }
            guard let (deployment, behaviour) = found, deployment.state(at: now) == "READY" else {
                var response = Response.page("The deployment could not be found on Vercel.\n", status: 404)
                response.headers.append(("x-vercel-error", "DEPLOYMENT_NOT_FOUND"))
                return response
            }
            let plainPath = String(path.prefix { $0 != "?" })
            guard let behaviour, behaviour.paths.map({ $0.contains(plainPath) }) ?? true else {
                state.with { RuntimeLogRoutes.logRequest(deployment, path: path, status: 200, in: &$0) }
                return .page("<!doctype html><title>\(deployment.name)</title><h1>\(deployment.name)</h1>\n")
            }
            if behaviour.delayMs > 0 { usleep(useconds_t(min(behaviour.delayMs, 30_000) * 1000)) }
            state.with { RuntimeLogRoutes.logRequest(deployment, path: path, status: behaviour.status, in: &$0) }
            var response = Response.page(behaviour.body ?? "", status: behaviour.status)
            if let location = behaviour.location { response.headers.append(("Location", location)) }
            return response
        }
        // {"status", "body", "location", "delayMs", "paths"}: 204, or 404 for another account's
        // deployment. An empty object restores the default page.
        router.add("PUT", "/_sim/deployments/:id/site") { request, state in
            let token = try AdminRoutes.account(of: request, state)
            let behaviour = try request.decodeJSON(Behaviour.self)
            let set = state.with { data -> Bool in
                guard let account = data.accounts[token],
                    let deployment = data.deployments[request.parameter("id") ?? ""],
                    deployment.ownerID == account.user.id
                        || account.teams.contains(where: { $0.id == deployment.ownerID })
                else { return false }
                data.sites[deployment.id] = behaviour == Behaviour() ? nil : behaviour
                return true
            }
            return Response(status: set ? 204 : 404)
        }
        // The paths a deployment's pages were asked for, in order.
        router.add("GET", "/_sim/deployments/:id/site/requests") { request, state in
            _ = try AdminRoutes.account(of: request, state)
            let paths = state.with { $0.siteRequests[request.parameter("id") ?? ""] ?? [] }
            return .json(JSONValue.array(paths.map { .string($0) }))
        }
    }
}

extension Response {
    fileprivate static func page(_ text: String, status: Int = 200) -> Response {
        Response(
            status: status, headers: [("Content-Type", "text/html; charset=utf-8")], body: .bytes(Array(text.utf8)))
    }
}

extension SiteRoutes.Behaviour {
    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        status = try container.decodeIfPresent(Int.self, forKey: .status) ?? 200
        body = try container.decodeIfPresent(String.self, forKey: .body)
        location = try container.decodeIfPresent(String.self, forKey: .location)
        delayMs = try container.decodeIfPresent(Int.self, forKey: .delayMs) ?? 0
        paths = try container.decodeIfPresent([String].self, forKey: .paths)
    }
}
