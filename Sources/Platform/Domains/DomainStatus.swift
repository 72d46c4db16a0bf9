import Vercel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Where a custom domain stands, in the words a person reads.
public enum DomainState: String, Sendable, Codable, CaseIterable {
    /// Vercel waits for the TXT record that proves the name is the user's.
    case pending
    /// Verified, but the name's DNS does not point at Vercel.
    case misconfigured
    /// The name points at Vercel, which still cannot issue a certificate for it (a CAA record that
    /// does not allow Vercel's certificate authority is the usual cause).
    case certificateFailing = "certificate_failing"
    /// Verified, pointing at Vercel, a certificate issuable: serving.
    case active
    /// No longer on the Vercel project: removed, or moved to another project, outside this service.
    case removed
    /// Never verified within the time allowed; the health job stopped checking it.
    case abandoned

    /// Whether the health job still checks the domain.
    public var isWatched: Bool { self != .removed && self != .abandoned }

    /// Whether reaching this state from `previous` is bad news: a domain that pointed at Vercel
    /// stops doing so, a certificate cannot be issued, the domain is gone or given up on. A pending
    /// domain that becomes verified but not yet pointed is progress, not breakage.
    public func isBreakage(from previous: DomainState) -> Bool {
        guard previous != self else { return false }
        switch self {
        case .misconfigured: return previous == .active || previous == .certificateFailing
        case .certificateFailing, .removed, .abandoned: return true
        case .pending, .active: return false
        }
    }
}

/// A DNS record the user creates at their DNS provider: `{type, name, value, reason}`.
public struct DomainRecord: Codable, Sendable, Equatable {
    public let type: String
    public let name: String
    public let value: String
    public let reason: String

    public init(type: String, name: String, value: String, reason: String) {
        self.type = type
        self.name = name
        self.value = value
        self.reason = reason
    }
}

/// What Vercel reports about a project domain, read into one status: the state, whether it is
/// verified and configured, and the records still to create. Pure: the routes and the health job
/// both read Vercel, then ask this what it means.
public struct DomainStatus: Sendable, Equatable {
    public var state: DomainState
    public var verified: Bool
    /// Vercel's `misconfigured` is false: the name points at Vercel and a certificate can be issued.
    public var configured: Bool
    /// `A`, `CNAME` or `http` as Vercel sees the name; nil when it does not point at Vercel.
    public var configuredBy: String?
    /// The records still to create: the TXT proof while unverified, the A or CNAME record while the
    /// name does not point at Vercel.
    public var pendingRecords: [DomainRecord]
    /// The A or CNAME record for this name, as Vercel's configuration endpoint recommends it.
    public var pointingRecords: [DomainRecord]
    public var apexName: String?
    public var redirect: String?
    public var redirectStatusCode: Int?
    /// Why the domain is in its state, in a sentence.
    public var reason: String

    /// The status of `name` given Vercel's project domain (nil when Vercel no longer has it on the
    /// project) and its DNS configuration (nil when not read).
    public init(name: String, domain: VercelDomain?, config: VercelDomainConfig?) {
        guard let domain else {
            self.init(
                state: .removed, verified: false, configured: false, configuredBy: nil, pendingRecords: [],
                pointingRecords: [], apexName: nil, redirect: nil, redirectStatusCode: nil,
                reason: "The domain is no longer on the Vercel project (removed or moved outside this service)")
            return
        }
        let pointing = Self.pointingRecords(name: name, apexName: domain.apexName, config: config)
        let proof = (domain.verification ?? []).map {
            DomainRecord(type: $0.type, name: $0.domain, value: $0.value, reason: $0.reason)
        }
        let configured = config.map { !$0.misconfigured } ?? false
        let configuredBy = config?.configuredBy
        let state: DomainState
        let reason: String
        if !domain.verified {
            state = .pending
            reason = "Vercel waits for the TXT record that proves the domain is yours"
        } else if configured {
            state = .active
            reason = "The domain points at Vercel and can serve over HTTPS"
        } else if configuredBy != nil {
            state = .certificateFailing
            reason =
                "The domain points at Vercel, but Vercel cannot issue its certificate (check CAA records at the domain)"
        } else {
            state = .misconfigured
            reason = "The domain's DNS does not point at Vercel"
        }
        self.init(
            state: state, verified: domain.verified, configured: configured, configuredBy: configuredBy,
            pendingRecords: (domain.verified ? [] : proof) + (configuredBy == nil ? pointing : []),
            pointingRecords: pointing, apexName: domain.apexName, redirect: domain.redirect,
            redirectStatusCode: domain.redirectStatusCode, reason: reason)
    }

    public init(
        state: DomainState, verified: Bool, configured: Bool, configuredBy: String?, pendingRecords: [DomainRecord],
        pointingRecords: [DomainRecord], apexName: String?, redirect: String?, redirectStatusCode: Int?,
        reason: String
    ) {
        self.state = state
        self.verified = verified
        self.configured = configured
        self.configuredBy = configuredBy
        self.pendingRecords = pendingRecords
        self.pointingRecords = pointingRecords
        self.apexName = apexName
        self.redirect = redirect
        self.redirectStatusCode = redirectStatusCode
        self.reason = reason
    }

    /// An apex name gets A records (a CNAME cannot live at a zone's apex); any other name a CNAME.
    /// The values are Vercel's preferred (rank 1) recommendations, never assumed.
    static func pointingRecords(name: String, apexName: String?, config: VercelDomainConfig?) -> [DomainRecord] {
        guard let config else { return [] }
        if name == apexName {
            return config.preferredIPv4.map {
                DomainRecord(type: "A", name: name, value: $0, reason: "point_to_vercel")
            }
        }
        return config.preferredCNAME.map {
            [DomainRecord(type: "CNAME", name: name, value: $0, reason: "point_to_vercel")]
        }
            ?? []
    }
}

/// When the health job looks at a domain again: a pending or broken domain soon at first, the wait
/// doubling from a minute up to six hours while nothing changes; an active one hourly; a domain
/// never verified within seven days is abandoned.
public enum DomainSchedule {
    public static let first = 60
    public static let ceiling = 6 * 3600
    public static let active = 3600
    public static let giveUpAfter: TimeInterval = 7 * 86_400

    /// The wait in seconds before the next check, after a check that found `state`.
    public static func interval(after state: DomainState, changed: Bool, previous: Int) -> Int {
        if state == .active { return active }
        if changed { return first }
        return min(max(previous, first) * 2, ceiling)
    }

    /// Whether a domain still pending, added at `addedAt`, has waited too long to be verified.
    public static func shouldAbandon(_ state: DomainState, addedAt: Date, now: Date = Date()) -> Bool {
        state == .pending && now.timeIntervalSince(addedAt) > giveUpAfter
    }
}
