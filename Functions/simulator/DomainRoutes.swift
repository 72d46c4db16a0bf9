import FastCGI
import Foundation

/// `POST /v10/projects/{id}/domains`, `GET /v9/projects/{id}/domains[/{domain}]`,
/// `POST /v9/projects/{id}/domains/{domain}/verify`, `DELETE /v9/projects/{id}/domains/{domain}`,
/// `GET /v6/domains/{domain}/config`. A domain whose apex the account "owns" (DNS published with
/// `/_sim/dns`) still needs its TXT record for verification, as on Vercel.
enum DomainRoutes {
    static func add(to router: inout Router<SimulatorState>) {
        router.api("POST", "/v10/projects/:id/domains", create)
        router.api("GET", "/v9/projects/:id/domains") { request, state, caller in
            let project = try ProjectRoutes.find(request.parameter("id") ?? "", caller, state)
            let domains = state.with {
                Array(($0.domains[project.id] ?? [:]).values).sorted { $0.createdAt < $1.createdAt }
            }
            return .json(DomainsPage(domains: domains, pagination: SimulatedPagination(count: domains.count)))
        }
        router.api("GET", "/v9/projects/:id/domains/:domain") { request, state, caller in
            .json(try find(request, state, caller))
        }
        router.api("POST", "/v9/projects/:id/domains/:domain/verify", verify)
        router.api("DELETE", "/v9/projects/:id/domains/:domain") { request, state, caller in
            let domain = try find(request, state, caller)
            state.with { $0.domains[domain.projectId]?[domain.name] = nil }
            return .json(JSONValue.object([:]))
        }
        router.api("GET", "/v6/domains/:domain/config") { request, state, _ in
            let name = (request.parameter("domain") ?? "").lowercased()
            let records = state.with { $0.dns[name] ?? [:] }
            let configuredBy: String? =
                records["CNAME"] == "cname.vercel-dns.com" ? "CNAME" : records["A"] == "76.76.21.21" ? "A" : nil
            return .json(
                DomainConfig(
                    configuredBy: configuredBy, acceptedChallenges: configuredBy == nil ? [] : ["http-01"],
                    misconfigured: configuredBy == nil))
        }
    }

    struct DomainsPage: Encodable {
        let domains: [SimulatedDomain]
        let pagination: SimulatedPagination
    }

    struct DomainConfig: Encodable {
        let configuredBy: String?
        let acceptedChallenges: [String]
        let misconfigured: Bool

        func encode(to encoder: any Encoder) throws {
            enum Keys: String, CodingKey { case configuredBy, acceptedChallenges, misconfigured }
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(configuredBy, forKey: .configuredBy)
            try container.encode(acceptedChallenges, forKey: .acceptedChallenges)
            try container.encode(misconfigured, forKey: .misconfigured)
        }
    }

    struct NewDomain: Decodable {
        var name: String
        var redirect: String?
        var redirectStatusCode: Int?
        var gitBranch: String?
    }

    static func apex(of name: String) -> String {
        name.split(separator: ".").suffix(2).joined(separator: ".")
    }

    static func isValid(_ name: String) -> Bool {
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        return name.utf8.count <= 253 && labels.count >= 2
            && labels.allSatisfy { label in
                (1...63).contains(label.utf8.count) && label.first != "-" && label.last != "-"
                    && label.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2d }
            }
    }

    @Sendable static func create(
        _ request: Request, _ state: SimulatorState, _ caller: SimulatedCaller
    ) throws -> Response {
        let project = try ProjectRoutes.find(request.parameter("id") ?? "", caller, state)
        let wanted = try request.vercelBody(NewDomain.self)
        let name = wanted.name.lowercased()
        guard isValid(name) else {
            throw VercelAPIError(status: 400, code: "invalid_domain", message: "Invalid domain name \"\(wanted.name)\"")
        }
        if let code = wanted.redirectStatusCode, ![301, 302, 307, 308].contains(code) {
            throw VercelAPIError.badRequest("Invalid request: `redirectStatusCode` should be one of 301, 302, 307, 308")
        }
        let domain = try state.with { data -> SimulatedDomain in
            if data.domains.values.contains(where: { $0[name] != nil }) {
                throw VercelAPIError(
                    status: 409, code: "domain_already_in_use",
                    message: "The domain \"\(name)\" is already in use by a project")
            }
            let now = data.tick()
            let apex = apex(of: name)
            let token = "vc-domain-verify=\(name),\(SimulatorState.identifier("").prefix(20).lowercased())"
            let domain = SimulatedDomain(
                name: name, apexName: apex, projectId: project.id, verified: false,
                verification: [
                    .init(type: "TXT", domain: "_vercel.\(apex)", value: token, reason: "pending_domain_verification")
                ],
                redirect: wanted.redirect, redirectStatusCode: wanted.redirectStatusCode, gitBranch: wanted.gitBranch,
                createdAt: now, updatedAt: now)
            data.domains[project.id, default: [:]][name] = domain
            return domain
        }
        return .json(domain)
    }

    static func find(_ request: Request, _ state: SimulatorState, _ caller: SimulatedCaller) throws -> SimulatedDomain {
        let project = try ProjectRoutes.find(request.parameter("id") ?? "", caller, state)
        let name = (request.parameter("domain") ?? "").lowercased()
        guard let domain = state.with({ $0.domains[project.id]?[name] }) else {
            throw VercelAPIError.notFound("The domain \"\(name)\" was not found on this project")
        }
        return domain
    }

    @Sendable static func verify(
        _ request: Request, _ state: SimulatorState, _ caller: SimulatedCaller
    ) throws -> Response {
        let domain = try find(request, state, caller)
        guard let challenge = domain.verification?.first else { return .json(domain) }
        let published = state.with { $0.dns[challenge.domain]?["TXT"] }
        guard published == challenge.value else {
            throw VercelAPIError(
                status: 400, code: "missing_txt_record",
                message: "Domain \(challenge.domain) is missing required TXT Record \"\(challenge.value)\"")
        }
        let verified = state.with { data -> SimulatedDomain in
            var updated = domain
            updated.verified = true
            updated.verification = nil
            updated.updatedAt = data.tick()
            data.domains[domain.projectId]?[domain.name] = updated
            return updated
        }
        return .json(verified)
    }
}
