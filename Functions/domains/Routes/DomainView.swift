import FastCGI
import Kernel
import Platform
import PlatformHost

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A domain as the platform's frontend reads it: `{name, verified, verificationStatus, sslStatus,
/// configured, redirect, ...}`, with the records still to create and the A or CNAME record Vercel
/// recommends. Absent values are `null`, never missing.
struct DomainView: Encodable {
    let domain: DomainStore.Domain

    private enum Keys: String, CodingKey {
        case name, status, reason, verified, verificationStatus, configured, configuredBy, sslStatus, redirect
        case redirectStatusCode, verificationRecords, dnsRecords, createdAt, lastCheckedAt, stateChangedAt
    }

    func encode(to encoder: any Encoder) throws {
        let status = domain.status
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(domain.name, forKey: .name)
        try container.encode(status.state.rawValue, forKey: .status)
        try container.encode(status.reason, forKey: .reason)
        try container.encode(status.verified, forKey: .verified)
        try container.encode(domain.verificationStatus, forKey: .verificationStatus)
        try container.encode(status.configured, forKey: .configured)
        try container.encode(status.configuredBy, forKey: .configuredBy)
        try container.encode(domain.sslStatus, forKey: .sslStatus)
        try container.encode(status.redirect, forKey: .redirect)
        try container.encode(status.redirectStatusCode, forKey: .redirectStatusCode)
        try container.encode(status.pendingRecords, forKey: .verificationRecords)
        try container.encode(status.pointingRecords, forKey: .dnsRecords)
        try container.encode(ISO8601.format(domain.createdAt), forKey: .createdAt)
        try container.encode(domain.lastCheckedAt.map { ISO8601.format($0) }, forKey: .lastCheckedAt)
        try container.encode(ISO8601.format(domain.stateChangedAt), forKey: .stateChangedAt)
    }
}
