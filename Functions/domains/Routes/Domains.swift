import FastCGI
import Platform
import PlatformHost
import Vercel

/// The routes of `…/vercel/domains`: add a domain to the linked Vercel project, list them, read
/// and prove their verification, remove one. Every answer states the domain's verification, its
/// configuration and the records still to create, as Vercel reports them.
enum Domains {
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
        let credentials = try context.vercelCredentials(
            for: call, connection: link.connectionID, requiring: .writeDomain)
        let added: DomainService.Added
        do {
            added = try context.domainService.add(
                name, redirect: redirect, redirectStatusCode: input.redirectStatusCode, to: link,
                actor: call.caller.userID, credentials: credentials)
        } catch let refusal as DomainService.Refusal {
            throw DomainsError(refusal)
        }
        return .json(
            Added(domain: DomainView(domain: added.domain), verificationRecords: added.records, adopted: added.adopted),
            status: added.adopted ? 200 : 201)
    }

    @Sendable static func verification(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        let (link, domain) = try stored(call, context)
        let credentials = try context.vercelCredentials(
            for: call, connection: link.connectionID, requiring: .readDomain)
        let observed = try context.domainService.refresh(domain, of: link, credentials: credentials)
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
        let observed = try context.domainService.verify(domain, of: link, credentials: credentials)
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
        let redirects = try context.domainService.remove(
            domain, of: link, actor: call.caller.userID, credentials: credentials)
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
