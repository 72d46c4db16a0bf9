import FastCGI
import Platform
import PlatformHost
import Vercel

/// The routes of `…/vercel/domains`: add a domain to the linked Vercel project, list them, read
/// and prove their verification, remove one. Every answer states the domain's verification, its
/// configuration and the records still to create, as Vercel reports them.
enum Domains {
    static let maximumPerProject = 50

    struct AddInput: Decodable, Sendable {
        let domain: String
        let httpsRedirect: Bool?
        let redirectTo: String?
        let redirectStatusCode: Int?
    }

    struct Added: Encodable {
        let domain: DomainView
        let verificationRecords: [DomainRecord]
        /// True when Vercel already had the domain on the project (added in its dashboard).
        let adopted: Bool
    }

    struct Listed: Encodable {
        let domains: [DomainView]
    }

    struct Verification: Encodable {
        let verificationStatus: String
        let verified: Bool
        let verificationRecords: [DomainRecord]
        let domain: DomainView
    }

    struct Verified: Encodable {
        let verified: Bool
        let status: String
        let records: [DomainRecord]
        let domain: DomainView
    }

    struct Removed: Encodable {
        let removed: Bool
        let redirectsRemoved: [String]
    }

    private struct AuditDetails: Encodable {
        let domain: String
        let redirect: String?
    }

    @Sendable static func list(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        _ = try call.linkedProject()
        return .json(Listed(domains: try context.domains.list(projectID: call.projectID).map(DomainView.init)))
    }

    @Sendable static func add(_ call: PlatformCall<AddInput>, _ context: WorkerServices) throws -> Response {
        let link = try call.linkedProject()
        let input = call.input
        let name = try parse(input.domain)
        if input.httpsRedirect == false { throw DomainsError.httpsAlwaysOn }
        let redirect = try input.redirectTo.map { text -> String in
            do {
                return try DomainName(parsing: text).ascii
            } catch {
                throw DomainsError.invalidRedirect("redirectTo is not a domain: \(error)")
            }
        }
        if let code = input.redirectStatusCode {
            guard [301, 302, 307, 308].contains(code) else { throw DomainsError.invalidRedirectStatusCode }
            guard redirect != nil else { throw DomainsError.invalidRedirect("redirectStatusCode needs redirectTo") }
        }
        let store = context.domains
        let current = try store.list(projectID: call.projectID).filter(\.status.state.isWatched)
        guard !current.contains(where: { $0.name == name }) else { throw DomainsError.domainExists }
        guard current.count < maximumPerProject else { throw DomainsError.tooManyDomains }
        if let redirect {
            guard redirect != name, current.contains(where: { $0.name == redirect }) else {
                throw DomainsError.invalidRedirect("redirectTo must be another domain of this project")
            }
        }
        guard try !store.heldElsewhere(name, projectID: call.projectID) else { throw DomainsError.domainInUse }

        let credentials = try context.vercelCredentials(
            for: call, connection: link.connectionID, requiring: .writeDomain)
        // A 403 here is most often a domain another team owns; it is told apart below.
        var adding = credentials
        adding.requiredScope = nil
        let attempt = Result { () throws(VercelError) -> VercelDomain in
            try context.vercel.addDomain(
                name, projectID: link.vercelProjectID, redirect: redirect,
                redirectStatusCode: redirect == nil ? nil : input.redirectStatusCode ?? 308, adding)
        }
        var adopted = false
        let added: VercelDomain
        switch attempt {
        case .success(let domain):
            added = domain
        case .failure(.api(409, _, _)):
            throw DomainsError.domainInUse
        case .failure(.api(403, _, let message)):
            guard message.lowercased().contains("owned by another") else {
                throw VercelError.forbidden(requiredScope: VercelPermission.writeDomain.description, message: message)
            }
            throw DomainsError.domainOwnedElsewhere
        case .failure(let error):
            // Vercel refuses a domain the project already has: one added in its dashboard is taken in.
            guard case .api(400, _, _) = error,
                let found = try? context.vercel.domain(name, projectID: link.vercelProjectID, credentials)
            else { throw error }
            added = found
            adopted = true
        }
        let config = try context.vercel.domainConfig(name, projectID: link.vercelProjectID, credentials)
        let status = DomainStatus(name: name, domain: added, config: config)
        let stored: DomainStore.Domain
        do {
            stored = try store.add(name, link: link, status: status)
        } catch DomainStore.Refusal.exists {
            throw DomainsError.domainExists
        } catch DomainStore.Refusal.inUseByAnotherProject {
            throw DomainsError.domainInUse
        }
        try context.audit.record(
            .domainAdded, severity: .medium, actor: call.caller.userID, project: call.projectID,
            details: AuditDetails(domain: name, redirect: redirect))
        return .json(
            Added(domain: DomainView(domain: stored), verificationRecords: status.pendingRecords, adopted: adopted),
            status: adopted ? 200 : 201)
    }

    @Sendable static func verification(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        let (link, domain) = try stored(call, context)
        let credentials = try context.vercelCredentials(
            for: call, connection: link.connectionID, requiring: .readDomain)
        let status = try DomainStatus.read(
            domain.name, vercelProjectID: link.vercelProjectID, client: context.vercel, credentials)
        let observed = try context.domains.observe(domain, status, by: .request).domain
        return .json(
            Verification(
                verificationStatus: observed.verificationStatus, verified: observed.status.verified,
                verificationRecords: observed.status.pendingRecords, domain: DomainView(domain: observed)))
    }

    @Sendable static func verify(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        let (link, domain) = try stored(call, context)
        guard domain.status.state != .removed else { throw DomainsError.removedOnVercel }
        let credentials = try context.vercelCredentials(
            for: call, connection: link.connectionID, requiring: .writeDomain)
        let attempt = Result { () throws(VercelError) -> VercelDomain in
            try context.vercel.verifyDomain(domain.name, projectID: link.vercelProjectID, credentials)
        }
        // Vercel answers 400 while the TXT record is missing: not an error, the answer is "not yet".
        if case .failure(let error) = attempt {
            switch error {
            case .api(400, _, _), .api(404, _, _): break
            default: throw error
            }
        }
        let status = try DomainStatus.read(
            domain.name, vercelProjectID: link.vercelProjectID, client: context.vercel, credentials)
        let observed = try context.domains.observe(domain, status, by: .request).domain
        guard observed.status.state != .removed else { throw DomainsError.removedOnVercel }
        return .json(
            Verified(
                verified: observed.status.verified, status: observed.verificationStatus,
                records: observed.status.pendingRecords, domain: DomainView(domain: observed)))
    }

    @Sendable static func remove(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        let (link, domain) = try stored(call, context)
        let credentials = try context.vercelCredentials(
            for: call, connection: link.connectionID, requiring: .writeDomain)
        let attempt = Result { () throws(VercelError) in
            try context.vercel.removeDomain(
                domain.name, projectID: link.vercelProjectID, removeRedirects: true, credentials)
        }
        // Already gone from Vercel (removed in its dashboard): removing it here finishes the job.
        if case .failure(let error) = attempt {
            guard case .api(404, _, _) = error else { throw error }
        }
        let redirects = try context.domains.remove(domain)
        try context.audit.record(
            .domainRemoved, severity: .medium, actor: call.caller.userID, project: call.projectID,
            details: AuditDetails(domain: domain.name, redirect: nil))
        return .json(Removed(removed: true, redirectsRemoved: redirects))
    }

    /// The linked project and its stored domain named by `:domain`.
    private static func stored<Input>(
        _ call: PlatformCall<Input>, _ context: WorkerServices
    ) throws -> (LinkedProject, DomainStore.Domain) {
        let link = try call.linkedProject()
        let name = try parse(call.parameter("domain") ?? "")
        guard let domain = try context.domains.find(projectID: call.projectID, name: name) else {
            throw DomainsError.domainNotFound
        }
        return (link, domain)
    }

    private static func parse(_ text: String) throws -> String {
        do {
            return try DomainName(parsing: text).ascii
        } catch {
            throw DomainsError.invalidDomain(error)
        }
    }
}
