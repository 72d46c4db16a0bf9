import FastCGI
import Foundation
import Kernel

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
            struct Options: Decodable { var removeRedirects: Bool? }
            let domain = try find(request, state, caller)
            let options = request.body.isEmpty ? Options() : try request.vercelBody(Options.self)
            state.with { data in
                data.domains[domain.projectId]?[domain.name] = nil
                if options.removeRedirects == true {
                    for other in (data.domains[domain.projectId] ?? [:]).values where other.redirect == domain.name {
                        data.domains[domain.projectId]?[other.name] = nil
                    }
                }
            }
            return .json(JSONValue.object([:]))
        }
        router.api("GET", "/v6/domains/:domain/config") { request, state, caller in
            let name = (request.parameter("domain") ?? "").lowercased()
            return .json(state.with { config(of: name, caller: caller, data: $0) })
        }
    }

    /// The records this simulated Vercel recommends, ranked as Vercel ranks them: an address block
    /// and a per-account CNAME target first, the older shared values second.
    static func recommended(
        for caller: SimulatedCaller
    ) -> (
        ipv4: [DomainConfig.RankedAddresses], cname: [DomainConfig.RankedName]
    ) {
        var hash: UInt64 = 14_695_981_039_346_656_037
        for byte in caller.ownerID.utf8 { hash = (hash ^ UInt64(byte)) &* 1_099_511_628_211 }
        let target = String(String(hash, radix: 16).prefix(16))
        return (
            [.init(rank: 1, value: ["216.198.79.1"]), .init(rank: 2, value: ["76.76.21.21"])],
            [.init(rank: 1, value: "\(target).vercel-dns-017.com."), .init(rank: 2, value: "cname.vercel-dns.com.")]
        )
    }

    /// How the name's published DNS looks to Vercel: configured by A or CNAME when a record matches a
    /// recommended value; misconfigured unless configured and a certificate can be issued (a CAA
    /// record on the name or its apex that does not allow letsencrypt.org stops the certificate).
    static func config(of name: String, caller: SimulatedCaller, data: SimulatorState.Data) -> DomainConfig {
        let (ipv4, cname) = recommended(for: caller)
        let records = data.dns[name] ?? [:]
        func trimmed(_ value: String?) -> String? {
            guard let value = value?.lowercased() else { return nil }
            return value.hasSuffix(".") ? String(value.dropLast()) : value
        }
        let configuredBy: String? =
            cname.contains(where: { trimmed($0.value) == trimmed(records["CNAME"]) })
            ? "CNAME" : ipv4.contains(where: { $0.value.contains(records["A"] ?? "-") }) ? "A" : nil
        let caa = records["CAA"] ?? data.dns[apex(of: name)]?["CAA"]
        let certificateBlocked = caa.map { !$0.contains("letsencrypt.org") } ?? false
        let issuable = configuredBy != nil && !certificateBlocked
        return DomainConfig(
            configuredBy: configuredBy, acceptedChallenges: issuable ? ["http-01"] : [],
            recommendedIPv4: ipv4, recommendedCNAME: cname, misconfigured: !issuable)
    }

    struct DomainsPage: Encodable {
        let domains: [SimulatedDomain]
        let pagination: SimulatedPagination
    }

    struct DomainConfig: Encodable {
        let configuredBy: String?
        let acceptedChallenges: [String]
        let recommendedIPv4: [RankedAddresses]
        let recommendedCNAME: [RankedName]
        let misconfigured: Bool

        struct RankedAddresses: Encodable {
            let rank: Int
            let value: [String]
        }

        struct RankedName: Encodable {
            let rank: Int
            let value: String
        }

        func encode(to encoder: any Encoder) throws {
            enum Keys: String, CodingKey {
                case configuredBy, acceptedChallenges, recommendedIPv4, recommendedCNAME, misconfigured
            }
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(configuredBy, forKey: .configuredBy)
            try container.encode(acceptedChallenges, forKey: .acceptedChallenges)
            try container.encode(recommendedIPv4, forKey: .recommendedIPv4)
            try container.encode(recommendedCNAME, forKey: .recommendedCNAME)
            try container.encode(misconfigured, forKey: .misconfigured)
        }
    }

    struct NewDomain: Decodable {
        var name: String
        var redirect: String?
        var redirectStatusCode: Int?
        var gitBranch: String?
    }

    /// The registrable domain of `name`: its last two labels, three under the few two-label
    /// suffixes tests use.
    static func apex(of name: String) -> String {
        let labels = name.split(separator: ".")
        let twoLabelSuffixes: Set = ["co.uk", "org.uk", "com.au", "co.jp"]
        let keep = twoLabelSuffixes.contains(labels.suffix(2).joined(separator: ".")) ? 3 : 2
        return labels.suffix(keep).joined(separator: ".")
    }

    static func isValid(_ name: String) -> Bool {
        let labels = (name.hasPrefix("*.") ? name.dropFirst(2) : Substring(name))
            .split(separator: ".", omittingEmptySubsequences: false)
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
            let apex = apex(of: name)
            if let owner = data.domainOwners[apex], owner != caller.ownerID {
                throw VercelAPIError(
                    status: 403, code: "forbidden",
                    message: "The domain \"\(name)\" is already owned by another team.")
            }
            if data.domains[project.id]?[name] != nil {
                throw VercelAPIError(
                    status: 400, code: "domain_already_exists",
                    message: "Cannot add \(name) since it's already assigned to this project.")
            }
            if data.domains.values.contains(where: { $0[name] != nil }) {
                throw VercelAPIError(
                    status: 409, code: "domain_already_in_use",
                    message: "The domain \"\(name)\" is already in use by a project")
            }
            if let target = wanted.redirect, data.domains[project.id]?[target.lowercased()] == nil {
                throw VercelAPIError.badRequest(
                    "Invalid request: the redirect target \"\(target)\" is not a domain of this project")
            }
            let now = data.tick()
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
