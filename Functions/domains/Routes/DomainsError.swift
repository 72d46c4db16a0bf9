import FastCGI
import Kernel
import Platform
import PlatformHost

/// Every refusal of the `domains` group, mapped to its status and code in one place.
enum DomainsError: Error {
    case invalidDomain(DomainName.Problem)
    case invalidRedirect(String)
    case invalidRedirectStatusCode
    case httpsAlwaysOn
    case domainExists
    case domainInUse
    case domainOwnedElsewhere
    case domainNotFound
    case removedOnVercel
    case tooManyDomains
}

extension DomainsError {
    /// The group's answer to what the domain service refuses.
    init(_ refusal: DomainService.Refusal) {
        switch refusal {
        case .exists: self = .domainExists
        case .tooMany: self = .tooManyDomains
        case .redirectNotOwn: self = .invalidRedirect("redirectTo must be another domain of this project")
        case .inUse: self = .domainInUse
        case .ownedElsewhere: self = .domainOwnedElsewhere
        }
    }
}

extension DomainsError: GroupRefusal {
    var parts: (status: Int, code: String, message: String) {
        switch self {
        case .invalidDomain(let problem): (400, "INVALID_DOMAIN", "This is not a domain that can be added: \(problem)")
        case .invalidRedirect(let reason): (400, "INVALID_REDIRECT", reason)
        case .invalidRedirectStatusCode:
            (400, "INVALID_REDIRECT_STATUS_CODE", "redirectStatusCode must be 301, 302, 307 or 308")
        case .httpsAlwaysOn:
            (
                400, "HTTPS_REDIRECT_ALWAYS_ON",
                "Vercel always serves custom domains over HTTPS and redirects HTTP to it; httpsRedirect cannot be false"
            )
        case .domainExists: (409, "DOMAIN_EXISTS", "This project already has this domain")
        case .domainInUse: (409, "DOMAIN_IN_USE", "This domain is in use by another project")
        case .domainOwnedElsewhere:
            (
                403, "DOMAIN_OWNED_ELSEWHERE",
                "This domain belongs to another Vercel account or team; it must be moved or delegated there first"
            )
        case .domainNotFound: (404, "DOMAIN_NOT_FOUND", "This project has no such domain")
        case .removedOnVercel:
            (
                409, "DOMAIN_REMOVED_ON_VERCEL",
                "This domain is no longer on the Vercel project (removed or moved outside this service); remove it here and add it again"
            )
        case .tooManyDomains:
            (409, "TOO_MANY_DOMAINS", "A project has at most \(DomainService.maximumPerProject) domains")
        }
    }

    var extraFields: [String: JSONValue] {
        switch self {
        case .invalidDomain(let problem): ["reason": .string(problem.description)]
        default: [:]
        }
    }
}
