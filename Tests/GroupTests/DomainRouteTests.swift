import DomainsGroup
import Foundation
import Kernel
import Platform
import PlatformHost
import Testing

/// Every route of the `domains` group, called in process with Vercel scripted in its own answer
/// shapes: what each answers, what it stores, and how many round trips to Postgres it costs.
@Suite(.serialized) struct DomainRouteTests {
    let harness: GroupHarness
    let user: UUID
    let project: UUID
    let name = "shop.example.com"

    init() throws {
        harness = try GroupHarness(DomainsGroup.group)
        user = try harness.user()
        project = try harness.project(of: user)
        try harness.link(project, connection: try harness.connect(user))
    }

    var base: String { "/v1/projects/\(project.uuidString.lowercased())/vercel/domains" }

    /// Vercel's project domain, verified or waiting for its TXT record.
    func domain(verified: Bool) -> String {
        let verification =
            verified
            ? ""
            : #","verification":[{"type":"TXT","domain":"_vercel.example.com","value":"vc-domain-verify=shop.example.com,1a2b","reason":"pending_domain_verification"}]"#
        return
            #"{"name":"shop.example.com","apexName":"example.com","projectId":"prj_1","verified":\#(verified)\#(verification)}"#
    }

    func config(misconfigured: Bool) -> String {
        #"{"configuredBy":\#(misconfigured ? "null" : #""A""#),"acceptedChallenges":["http-01"],"misconfigured":\#(misconfigured),"recommendedIPv4":[{"rank":1,"value":["76.76.21.21"]}],"recommendedCNAME":[{"rank":1,"value":"cname.vercel-dns.com."}]}"#
    }

    @Test func aDomainIsAddedWithItsRecordsListedVerifiedAndRemoved() throws {
        defer { harness.drop() }
        harness.vercel.on("POST", "/v10/projects/prj_1/domains", json: domain(verified: false))
        harness.vercel.on("GET", "/v6/domains/\(name)/config", json: config(misconfigured: true))
        let added = try harness.call("POST", base, as: user, json: ["domain": "Shop.Example.com"])
        #expect(added.status == 201, "\(added.text)")
        let records = try #require(added.json["verificationRecords"] as? [[String: Any]])
        #expect(records.contains { $0["type"] as? String == "TXT" && $0["name"] as? String == "_vercel.example.com" })
        #expect(added.statements <= 11, "domain add took \(added.statements) round trips")

        let listed = try harness.call("GET", base, as: user)
        #expect((listed.json["domains"] as? [[String: Any]])?.map { $0["name"] as? String } == [name])
        #expect(harness.vercel.sent.filter { $0.hasPrefix("GET /v9") }.isEmpty, "the list is this service's own")

        // Not yet: Vercel answers 400 while the TXT record is missing.
        harness.vercel.on(
            "POST", "/v9/projects/prj_1/domains/\(name)/verify", status: 400,
            json: #"{"error":{"code":"missing_txt_record","message":"Domain is not verified"}}"#)
        harness.vercel.on("GET", "/v9/projects/prj_1/domains/\(name)", json: domain(verified: false))
        let pending = try harness.call("POST", "\(base)/\(name)/verify", as: user)
        #expect(pending.status == 200 && pending.json["verified"] as? Bool == false, "\(pending.text)")

        // Verified and pointing at Vercel.
        harness.vercel.on("GET", "/v9/projects/prj_1/domains/\(name)", json: domain(verified: true))
        harness.vercel.on("GET", "/v6/domains/\(name)/config", json: config(misconfigured: false))
        let verification = try harness.call("GET", "\(base)/\(name)/verification", as: user)
        #expect(verification.json["verified"] as? Bool == true, "\(verification.text)")

        harness.vercel.on("DELETE", "/v9/projects/prj_1/domains/\(name)", json: "{}")
        let removed = try harness.call("DELETE", "\(base)/\(name)", as: user)
        #expect(removed.status == 200 && removed.json["removed"] as? Bool == true, "\(removed.text)")
        #expect(try harness.call("DELETE", "\(base)/\(name)", as: user).code == "DOMAIN_NOT_FOUND")
    }

    @Test func aDomainAnotherTeamOwnsAndBadNamesAreRefused() throws {
        defer { harness.drop() }
        harness.vercel.on(
            "POST", "/v10/projects/prj_1/domains", status: 403,
            json: #"{"error":{"code":"forbidden","message":"The domain is owned by another team"}}"#)
        #expect(try harness.call("POST", base, as: user, json: ["domain": name]).code == "DOMAIN_OWNED_ELSEWHERE")
        let before = harness.vercel.sent.count
        for bad in ["localhost", "1.2.3.4", "shop.example", "a..b.com", String(repeating: "a", count: 300) + ".com"] {
            let refused = try harness.call("POST", base, as: user, json: ["domain": bad])
            #expect(refused.status == 400, "\(bad): \(refused.text)")
        }
        #expect(harness.vercel.sent.count == before, "a bad name never reaches Vercel")
    }
}
