import Vercel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A linked project's custom domains, from adding one at Vercel to knowing it serves: each change
/// is made at Vercel, then stored with the status Vercel reports (its verification, its
/// configuration and the records still to create), and audited.
public struct DomainService {
    let services: WorkerServices

    public init(_ services: WorkerServices) {
        self.services = services
    }

    /// How many domains a project may have.
    public static let maximumPerProject = 50

    /// What a change of domains refuses.
    public enum Refusal: Error, Equatable {
        /// The project has the domain already.
        case exists
        case tooMany
        /// A redirect must go to another domain of the project.
        case redirectNotOwn
        /// Another project (here or at Vercel) has the domain.
        case inUse
        /// Another Vercel team owns the domain.
        case ownedElsewhere
    }

    /// A domain just added, the records it still needs, and whether Vercel had it already (added
    /// in its dashboard, and taken in).
    public struct Added: Sendable {
        public let domain: DomainStore.Domain
        public let records: [DomainRecord]
        public let adopted: Bool
    }

    /// Adds `name` (canonical) to `link`'s Vercel project, redirecting to `redirect` (another of
    /// its domains) when given.
    public func add(
        _ name: String, redirect: String?, redirectStatusCode: Int?, to link: LinkedProject, actor: UUID,
        credentials: VercelClient.Credentials
    ) throws -> Added {
        let store = services.domains
        let current = try store.list(projectID: link.projectID).filter(\.status.state.isWatched)
        guard !current.contains(where: { $0.name == name }) else { throw Refusal.exists }
        guard current.count < Self.maximumPerProject else { throw Refusal.tooMany }
        if let redirect {
            guard redirect != name, current.contains(where: { $0.name == redirect }) else {
                throw Refusal.redirectNotOwn
            }
        }
        guard try !store.heldElsewhere(name, projectID: link.projectID) else { throw Refusal.inUse }
        // A 403 here is most often a domain another team owns; it is told apart below.
        var adding = credentials
        adding.requiredScope = nil
        let attempt = Result { () throws(VercelError) -> VercelDomain in
            try services.vercel.addDomain(
                name, projectID: link.vercelProjectID, redirect: redirect,
                redirectStatusCode: redirect == nil ? nil : redirectStatusCode ?? 308, adding)
        }
        var adopted = false
        let added: VercelDomain
        switch attempt {
        case .success(let domain):
            added = domain
        case .failure(.api(409, _, _)):
            throw Refusal.inUse
        case .failure(.api(403, _, let message)):
            guard message.lowercased().contains("owned by another") else {
                throw VercelError.forbidden(requiredScope: VercelPermission.writeDomain.description, message: message)
            }
            throw Refusal.ownedElsewhere
        case .failure(let error):
            // Vercel refuses a domain the project already has: one added in its dashboard is taken in.
            guard case .api(400, _, _) = error,
                let found = try? services.vercel.domain(name, projectID: link.vercelProjectID, credentials)
            else { throw error }
            added = found
            adopted = true
        }
        let config = try services.vercel.domainConfig(name, projectID: link.vercelProjectID, credentials)
        let status = DomainStatus(name: name, domain: added, config: config)
        let stored: DomainStore.Domain
        do {
            stored = try store.add(name, link: link, status: status)
        } catch DomainStore.Refusal.exists {
            throw Refusal.exists
        } catch DomainStore.Refusal.inUseByAnotherProject {
            throw Refusal.inUse
        }
        try audit(.domainAdded, name, redirect: redirect, actor: actor, project: link.projectID)
        return Added(domain: stored, records: status.pendingRecords, adopted: adopted)
    }

    /// The domain as Vercel reports it now, stored.
    public func refresh(
        _ domain: DomainStore.Domain, of link: LinkedProject, credentials: VercelClient.Credentials
    )
        throws -> DomainStore.Domain
    {
        let status = try DomainStatus.read(
            domain.name, vercelProjectID: link.vercelProjectID, client: services.vercel, credentials)
        return try services.domains.observe(domain, status, by: .request).domain
    }

    /// Asks Vercel to verify the domain (a missing TXT record is "not yet", not an error), then
    /// reads and stores what it reports.
    public func verify(
        _ domain: DomainStore.Domain, of link: LinkedProject, credentials: VercelClient.Credentials
    )
        throws -> DomainStore.Domain
    {
        let attempt = Result { () throws(VercelError) -> VercelDomain in
            try services.vercel.verifyDomain(domain.name, projectID: link.vercelProjectID, credentials)
        }
        if case .failure(let error) = attempt {
            switch error {
            case .api(400, _, _), .api(404, _, _): break
            default: throw error
            }
        }
        return try refresh(domain, of: link, credentials: credentials)
    }

    /// Removes the domain from Vercel (already gone there is fine) and here, with the redirects
    /// to it: the names of those redirects.
    public func remove(
        _ domain: DomainStore.Domain, of link: LinkedProject, actor: UUID, credentials: VercelClient.Credentials
    ) throws -> [String] {
        let attempt = Result { () throws(VercelError) in
            try services.vercel.removeDomain(
                domain.name, projectID: link.vercelProjectID, removeRedirects: true, credentials)
        }
        if case .failure(let error) = attempt {
            guard case .api(404, _, _) = error else { throw error }
        }
        let redirects = try services.domains.remove(domain)
        try audit(.domainRemoved, domain.name, redirect: nil, actor: actor, project: link.projectID)
        return redirects
    }

    private struct AuditDetails: Encodable {
        let domain: String
        let redirect: String?
    }

    private func audit(_ action: AuditAction, _ name: String, redirect: String?, actor: UUID, project: UUID) throws {
        try services.audit.record(
            action, severity: .medium, actor: actor, project: project,
            details: AuditDetails(domain: name, redirect: redirect))
    }
}

extension WorkerServices {
    /// A linked project's custom domains.
    public var domainService: DomainService { DomainService(self) }
}
