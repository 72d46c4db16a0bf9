import Platform
import PlatformHost
import Testing
import Vercel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What Vercel's reports about a project domain mean, and when the health job looks again.
@Suite struct DomainStatusTests {
    static let proof = VercelDomain.Verification(
        type: "TXT", domain: "_vercel.example.com", value: "vc-domain-verify=shop.example.com,abc",
        reason: "pending_domain_verification")
    static let recommended = VercelDomainConfig(
        configuredBy: nil, acceptedChallenges: [], misconfigured: true,
        recommendedIPv4: [.init(rank: 2, value: ["76.76.21.21"]), .init(rank: 1, value: ["216.198.79.1"])],
        recommendedCNAME: [
            .init(rank: 2, value: "cname.vercel-dns.com."), .init(rank: 1, value: "abc.vercel-dns-017.com."),
        ])

    static func domain(_ name: String, verified: Bool) -> VercelDomain {
        VercelDomain(
            name: name, apexName: "example.com", projectId: "prj_1", verified: verified,
            verification: verified ? nil : [proof])
    }

    static func config(by configuredBy: String?, misconfigured: Bool) -> VercelDomainConfig {
        VercelDomainConfig(
            configuredBy: configuredBy, acceptedChallenges: misconfigured ? [] : ["http-01"],
            misconfigured: misconfigured, recommendedIPv4: recommended.recommendedIPv4,
            recommendedCNAME: recommended.recommendedCNAME)
    }

    @Test func anUnverifiedSubdomainAsksForTheTXTProofAndTheRecommendedCNAME() {
        let status = DomainStatus(
            name: "shop.example.com", domain: Self.domain("shop.example.com", verified: false), config: Self.recommended
        )
        #expect(status.state == .pending && !status.verified && !status.configured)
        #expect(
            status.pendingRecords == [
                DomainRecord(
                    type: "TXT", name: "_vercel.example.com", value: Self.proof.value,
                    reason: "pending_domain_verification"),
                DomainRecord(
                    type: "CNAME", name: "shop.example.com", value: "abc.vercel-dns-017.com", reason: "point_to_vercel"),
            ])
    }

    @Test func anApexNameGetsTheRankOneAddressesNeverACNAME() {
        let status = DomainStatus(
            name: "example.com", domain: Self.domain("example.com", verified: true), config: Self.recommended)
        #expect(status.state == .misconfigured)
        #expect(
            status.pointingRecords == [
                DomainRecord(type: "A", name: "example.com", value: "216.198.79.1", reason: "point_to_vercel")
            ])
        #expect(status.pendingRecords == status.pointingRecords)
    }

    @Test(
        arguments: [
            (true, "CNAME", false, DomainState.active),
            (true, "A", false, .active),
            (true, "CNAME", true, .certificateFailing),
            (true, "http", true, .certificateFailing),
            (true, nil, true, .misconfigured),
            (false, "CNAME", false, .pending),
            (false, nil, true, .pending),
        ] as [(Bool, String?, Bool, DomainState)])
    func theStateFollowsVerificationThenConfiguration(
        verified: Bool, configuredBy: String?, misconfigured: Bool, state: DomainState
    ) {
        let status = DomainStatus(
            name: "shop.example.com", domain: Self.domain("shop.example.com", verified: verified),
            config: Self.config(by: configuredBy, misconfigured: misconfigured))
        #expect(status.state == state)
        #expect(status.configured == !misconfigured)
        // The pointing record is asked for only while the name does not point at Vercel.
        #expect(status.pendingRecords.contains { $0.type == "CNAME" } == (configuredBy == nil))
        #expect(status.pendingRecords.contains { $0.type == "TXT" } == !verified)
    }

    @Test func aDomainVercelNoLongerHasIsRemoved() {
        let status = DomainStatus(name: "shop.example.com", domain: nil, config: nil)
        #expect(status.state == .removed && status.pendingRecords.isEmpty)
    }

    @Test func withoutARecommendationNoRecordIsInvented() {
        let bare = VercelDomainConfig(configuredBy: nil, acceptedChallenges: nil, misconfigured: true)
        let status = DomainStatus(
            name: "shop.example.com", domain: Self.domain("shop.example.com", verified: true), config: bare)
        #expect(status.pointingRecords.isEmpty)
    }

    @Test func breakageIsALossOfWhatWorked() {
        #expect(DomainState.misconfigured.isBreakage(from: .active))
        #expect(DomainState.certificateFailing.isBreakage(from: .active))
        #expect(DomainState.removed.isBreakage(from: .pending))
        #expect(DomainState.abandoned.isBreakage(from: .pending))
        #expect(!DomainState.active.isBreakage(from: .misconfigured))
        #expect(!DomainState.misconfigured.isBreakage(from: .misconfigured))
        #expect(!DomainState.misconfigured.isBreakage(from: .pending))
        #expect(DomainState.certificateFailing.isBreakage(from: .misconfigured))
    }

    @Test func theWaitDoublesFromAMinuteToSixHoursAndAnActiveDomainIsCheckedHourly() {
        var wait = DomainSchedule.interval(after: .pending, changed: true, previous: 0)
        var waits = [wait]
        for _ in 0..<12 {
            wait = DomainSchedule.interval(after: .pending, changed: false, previous: wait)
            waits.append(wait)
        }
        #expect(Array(waits.prefix(5)) == [60, 120, 240, 480, 960])
        #expect(waits.last == 6 * 3600 && waits.allSatisfy { $0 <= 6 * 3600 })
        #expect(DomainSchedule.interval(after: .misconfigured, changed: true, previous: 21_600) == 60)
        #expect(DomainSchedule.interval(after: .active, changed: false, previous: 60) == 3600)
        #expect(DomainSchedule.interval(after: .active, changed: true, previous: 60) == 3600)
    }

    @Test func aDomainPendingForSevenDaysIsAbandonedAndOnlyThen() {
        let now = Date()
        let justUnder = now.addingTimeInterval(-7 * 86_400 + 60)
        let over = now.addingTimeInterval(-7 * 86_400 - 60)
        #expect(!DomainSchedule.shouldAbandon(.pending, addedAt: justUnder, now: now))
        #expect(DomainSchedule.shouldAbandon(.pending, addedAt: over, now: now))
        #expect(!DomainSchedule.shouldAbandon(.misconfigured, addedAt: over, now: now))
    }
}
