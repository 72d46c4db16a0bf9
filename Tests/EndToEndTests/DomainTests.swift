import Foundation
import Platform
import Postgres
import TestSupport
import Testing
import Vercel

/// Custom domains through nginx against the simulator: add, the records to create, DNS set in the
/// simulator, verify, configured; the refusals a user meets; and `vercel-job-domain-health`, which
/// records each change of state once and alerts on breakage.
@Suite(.serialized) struct DomainTests {
    let client: StackClient
    let fixtures = StackFixtures()
    let settings: [String: String]

    init() throws {
        client = try StackClient()
        settings = try TestEnvironment.stackConfiguration()
    }

    static func uniqueName(_ label: String = "shop") -> String {
        "\(label)-\(UUID().uuidString.prefix(8).lowercased()).example.com"
    }

    func add(_ linked: LinkedProjectFixture, _ fields: [String: Any]) async throws -> StackClient.Reply {
        var body = fields
        body["userId"] = linked.user.uuidString
        let json = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
        return try await client.signed("POST", "\(linked.base)/domains", json: json)
    }

    /// A call to `…/domains<suffix>`: `userId` in the query, or for a POST in the body.
    func call(_ method: String, _ linked: LinkedProjectFixture, _ suffix: String) async throws -> StackClient.Reply {
        if method == "POST" {
            return try await client.signed(
                method, "\(linked.base)/domains\(suffix)", json: #"{"userId":"\#(linked.user)"}"#)
        }
        return try await client.signed(method, "\(linked.base)/domains\(suffix)?userId=\(linked.user)")
    }

    func runHealthJob() throws -> Process {
        try JobRun.start("domain-health")
    }

    /// Makes the domain due, then runs the health job once.
    func check(_ name: String) throws {
        try fixtures.db.execute("UPDATE vercel_domains SET next_check_at = now() WHERE name = \(name)")
        let job = try runHealthJob()
        job.waitUntilExit()
        #expect(job.terminationStatus == 0)
    }

    func stored(_ name: String) throws -> PostgresRow? {
        try fixtures.db.query(
            """
            SELECT state, verification_status::text AS verification, configured, check_interval_seconds AS wait
            FROM vercel_domains WHERE name = \(name)
            """
        ).first
    }

    func history(_ name: String) throws -> [String] {
        try fixtures.db.query(
            "SELECT from_state, to_state FROM vercel_domain_history WHERE name = \(name) ORDER BY id"
        ).map { "\(try $0.decode("from_state", as: String.self))>\(try $0.decode("to_state", as: String.self))" }
    }

    /// The `domain.status_changed` alerts queued for `name`: "from>to severity".
    func alerts(_ name: String) throws -> [String] {
        try fixtures.db.query(
            """
            SELECT (payload->>'body')::jsonb AS body FROM vercel_jobs
            WHERE kind = 'alert' AND (payload->>'body')::jsonb->>'type' = 'domain.status_changed'
              AND (payload->>'body')::jsonb->'data'->>'domain' = \(name)
            ORDER BY id
            """
        ).map {
            let body = try JSONSerialization.jsonObject(with: Data(try $0.decode("body", as: String.self).utf8))
            let object = body as? [String: Any] ?? [:]
            let data = object["data"] as? [String: Any] ?? [:]
            return "\(data["from"] ?? "")>\(data["to"] ?? "") \(object["severity"] ?? "")"
        }
    }

    /// The CNAME the simulated Vercel recommends for the project, read from its configuration
    /// endpoint rather than assumed.
    func recommendedCNAME(_ name: String, _ linked: LinkedProjectFixture) throws -> String {
        try #require(
            linked.connected.vercel.domainConfig(
                name, projectID: linked.vercelProject.id, linked.connected.credentials
            ).preferredCNAME)
    }

    @Test func addRecordsDNSVerifyConfigured() async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client, webhooks: false)
        let name = Self.uniqueName()
        let added = try await add(linked, ["domain": name.uppercased() + "."])
        #expect(added.status == 201, "\(added.text)")
        let domain = try #require(added.json?["domain"] as? [String: Any])
        #expect(domain["name"] as? String == name && domain["verified"] as? Bool == false)
        #expect(domain["verificationStatus"] as? String == "PENDING" && domain["configured"] as? Bool == false)
        #expect(domain["sslStatus"] as? String == "PENDING" && domain["status"] as? String == "pending")
        let records = try #require(added.json?["verificationRecords"] as? [[String: Any]])
        let txt = try #require(records.first { $0["type"] as? String == "TXT" })
        #expect(txt["name"] as? String == "_vercel.example.com")
        #expect((txt["value"] as? String)?.hasPrefix("vc-domain-verify=") == true)
        let cname = try #require(records.first { $0["type"] as? String == "CNAME" })
        let recommended = try recommendedCNAME(name, linked)
        #expect(cname["name"] as? String == name && cname["value"] as? String == recommended)
        #expect(recommended != "cname.vercel-dns.com")

        // Not yet: Vercel finds no TXT record, and the answer says what is still missing.
        let early = try await call("POST", linked, "/\(name)/verify")
        #expect(early.status == 200 && early.json?["verified"] as? Bool == false, "\(early.text)")
        #expect(early.json?["status"] as? String == "PENDING")
        #expect((early.json?["records"] as? [[String: Any]])?.count == 2)

        try await linked.connected.account.publishDNS(
            name: txt["name"] as! String, type: "TXT", value: txt["value"] as! String)
        let verified = try await call("POST", linked, "/\(name)/verify")
        #expect(verified.json?["verified"] as? Bool == true && verified.json?["status"] as? String == "VERIFIED")
        let left = try #require(verified.json?["records"] as? [[String: Any]])
        #expect(left.map { $0["type"] as? String } == ["CNAME"])
        #expect((verified.json?["domain"] as? [String: Any])?["status"] as? String == "misconfigured")

        try await linked.connected.account.publishDNS(name: name, type: "CNAME", value: recommended + ".")
        let configured = try await call("GET", linked, "/\(name)/verification")
        #expect(configured.status == 200, "\(configured.text)")
        #expect(configured.json?["verificationStatus"] as? String == "VERIFIED")
        #expect((configured.json?["verificationRecords"] as? [Any])?.isEmpty == true)
        let serving = try #require(configured.json?["domain"] as? [String: Any])
        #expect(serving["configured"] as? Bool == true && serving["configuredBy"] as? String == "CNAME")
        #expect(serving["sslStatus"] as? String == "ACTIVE" && serving["status"] as? String == "active")

        let listed = try await call("GET", linked, "")
        let domains = try #require(listed.json?["domains"] as? [[String: Any]])
        #expect(domains.map { $0["name"] as? String } == [name])
        #expect(domains[0]["verified"] as? Bool == true && domains[0]["configured"] as? Bool == true)
        #expect(try history(name) == ["none>pending", "pending>misconfigured", "misconfigured>active"])
        #expect(try linked.auditActions().contains("DOMAIN_ADDED"))

        // Unicode in the path is the same domain as its punycode.
        let unicode = "bücher-\(UUID().uuidString.prefix(6).lowercased()).example.com"
        let punycoded = try DomainName(parsing: unicode).ascii
        #expect(try await add(linked, ["domain": unicode]).status == 201)
        let byUnicode = try await call(
            "GET", linked, "/\(unicode.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed)!)/verification")
        #expect((byUnicode.json?["domain"] as? [String: Any])?["name"] as? String == punycoded, "\(byUnicode.text)")
    }

    @Test func refusalsAUserUnderstands() async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client, webhooks: false)
        let name = Self.uniqueName()
        #expect(try await add(linked, ["domain": name]).status == 201)
        let again = try await add(linked, ["domain": name])
        #expect(again.status == 409 && again.code == "DOMAIN_EXISTS")

        // Another platform project: refused here, before Vercel is asked.
        let other = try await LinkedProjectFixture.make(fixtures, client, webhooks: false)
        let taken = try await add(other, ["domain": name])
        #expect(taken.status == 409 && taken.code == "DOMAIN_IN_USE")

        // A project of another Vercel account has it: Vercel's 409.
        let elsewhere = Self.uniqueName("elsewhere")
        _ = try other.connected.vercel.addDomain(
            elsewhere, projectID: other.vercelProject.id, other.connected.credentials)
        let inUse = try await add(linked, ["domain": elsewhere])
        #expect(inUse.status == 409 && inUse.code == "DOMAIN_IN_USE", "\(inUse.text)")

        // An apex another Vercel team owns: Vercel's 403.
        let apex = "claimed-\(UUID().uuidString.prefix(8).lowercased()).com"
        try await other.connected.account.admin("PUT", "/_sim/domains/claim", ["apex": apex])
        let owned = try await add(linked, ["domain": "www.\(apex)"])
        #expect(owned.status == 403 && owned.code == "DOMAIN_OWNED_ELSEWHERE", "\(owned.text)")

        let unknown = try await call("GET", linked, "/nothing-here.example.com/verification")
        #expect(unknown.status == 404 && unknown.code == "DOMAIN_NOT_FOUND")
        #expect(
            try await add(linked, ["domain": Self.uniqueName(), "httpsRedirect": false]).code
                == "HTTPS_REDIRECT_ALWAYS_ON")
        let stray = try await add(linked, ["domain": Self.uniqueName(), "redirectTo": "not-ours.example.org"])
        #expect(stray.status == 400 && stray.code == "INVALID_REDIRECT")
        let badCode = try await add(
            linked, ["domain": Self.uniqueName(), "redirectTo": name, "redirectStatusCode": 303])
        #expect(badCode.code == "INVALID_REDIRECT_STATUS_CODE")

        try await linked.connected.account.setFaults(["rateLimited": 10, "retryAfterSeconds": 1])
        let limited = try await add(linked, ["domain": Self.uniqueName()])
        #expect(limited.status == 429 && limited.code == "RATE_LIMITED", "\(limited.text)")
        #expect(limited.json?["retryAfter"] as? Int != nil)
        try await linked.connected.account.setFaults([:])

        // Nothing of the refused adds was stored.
        let listed = try await call("GET", linked, "")
        #expect((listed.json?["domains"] as? [[String: Any]])?.map { $0["name"] as? String } == [name])
    }

    @Test func aRedirectGoesToADomainOfTheProjectAndLeavesWithIt() async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client, webhooks: false)
        let target = Self.uniqueName("www")
        let alias = Self.uniqueName("old")
        #expect(try await add(linked, ["domain": target]).status == 201)
        let redirected = try await add(linked, ["domain": alias, "redirectTo": target, "redirectStatusCode": 301])
        #expect(redirected.status == 201, "\(redirected.text)")
        let domain = try #require(redirected.json?["domain"] as? [String: Any])
        #expect(domain["redirect"] as? String == target && domain["redirectStatusCode"] as? Int == 301)
        let atVercel = try linked.connected.vercel.domain(
            alias, projectID: linked.vercelProject.id, linked.connected.credentials)
        #expect(atVercel.redirect == target && atVercel.redirectStatusCode == 301)

        let removed = try await call("DELETE", linked, "/\(target)")
        #expect(removed.status == 200 && removed.json?["removed"] as? Bool == true, "\(removed.text)")
        #expect(removed.json?["redirectsRemoved"] as? [String] == [alias])
        #expect(
            try linked.connected.vercel.domains(projectID: linked.vercelProject.id, linked.connected.credentials)
                .isEmpty)
        #expect((try await call("GET", linked, "").json?["domains"] as? [Any])?.isEmpty == true)
        #expect(try linked.auditActions().contains("DOMAIN_REMOVED"))
        // Once removed, another project may take the name.
        let other = try await LinkedProjectFixture.make(fixtures, client, webhooks: false)
        #expect(try await add(other, ["domain": target]).status == 201)
    }

    /// Twenty-seven names no one can add, each refused with 400 `INVALID_DOMAIN` and its reason.
    @Test func badNamesAreRefusedWithTheirReason() async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client, webhooks: false)
        let table: [(String, DomainName.Problem?)] = [
            ("", .empty), ("   ", .empty), (".", .empty), ("com", .singleLabel), ("co.uk", .publicSuffix),
            ("vercel.app", .publicSuffix), ("github.io", .publicSuffix), ("*.co.uk", .publicSuffix),
            ("192.168.1.10", .ipAddress), ("10.0.0.1", .ipAddress), ("[::1]", .ipAddress), ("2001:db8::1", .ipAddress),
            ("shop..example.com", .labelEmpty), (".example.com", .labelEmpty),
            ("www.*.example.com", .misplacedWildcard),
            ("*example.com", .misplacedWildcard), ("example.*", .misplacedWildcard),
            ("**.example.com", .misplacedWildcard),
            ("-shop.example.com", .hyphenAtLabelEdge), ("shop-.example.com", .hyphenAtLabelEdge),
            (String(repeating: "a", count: 64) + ".example.com", .labelTooLong),
            ((0..<60).map { _ in "abcd" }.joined(separator: ".") + ".com", .tooLong),
            ("shop example.com", nil), ("shop_front.example.com", nil), ("shop!.example.com", nil),
            ("xn--zz.example.com", nil), ("exa mple.com", nil),
        ]
        #expect(table.count >= 25)
        for (text, problem) in table {
            let reply = try await add(linked, ["domain": text])
            #expect(reply.status == 400 && reply.code == "INVALID_DOMAIN", "\(text): \(reply.text)")
            let reason = reply.json?["reason"] as? String
            if let problem {
                #expect(reason == problem.description, "\(text): \(reply.text)")
            } else {
                #expect(reason?.isEmpty == false, "\(text): \(reply.text)")
            }
        }
        #expect((try await call("GET", linked, "").json?["domains"] as? [Any])?.isEmpty == true)
        #expect(try await linked.connected.account.requests().keys.allSatisfy { !$0.contains("/domains") })
    }

    @Test func theHealthJobRecordsEachTransitionOnceAndAlertsOnBreakage() async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client, webhooks: false)
        let account = linked.connected.account
        let name = Self.uniqueName()
        let added = try await add(linked, ["domain": name])
        let records = try #require(added.json?["verificationRecords"] as? [[String: Any]])
        let txt = try #require(records.first { $0["type"] as? String == "TXT" })
        let recommended = try recommendedCNAME(name, linked)

        // Nothing published: still pending, and the wait doubles.
        try check(name)
        #expect(try stored(name)?["state"] == "pending")
        #expect(try stored(name)?.decode("wait", as: Int.self) == 120)
        // The TXT record appears: the job asks Vercel to verify, which it does.
        try await account.publishDNS(name: txt["name"] as! String, type: "TXT", value: txt["value"] as! String)
        try check(name)
        #expect(try stored(name)?["state"] == "misconfigured")
        #expect(try stored(name)?.decode("wait", as: Int.self) == 60)
        try await account.publishDNS(name: name, type: "CNAME", value: recommended)
        try check(name)
        #expect(try stored(name)?["state"] == "active")
        #expect(try stored(name)?.decode("wait", as: Int.self) == 3600)
        try check(name)  // no change: no history, no alert
        // Someone edits the zone: the CNAME is gone.
        try await account.publishDNS(name: name, type: "CNAME", value: "")
        try check(name)
        #expect(try stored(name)?["state"] == "misconfigured")
        // Pointing again, but a CAA record stops the certificate.
        try await account.publishDNS(name: name, type: "CNAME", value: recommended)
        try await account.publishDNS(name: name, type: "CAA", value: "0 issue \"pki.goog\"")
        try check(name)
        #expect(try stored(name)?["state"] == "certificate_failing")
        let failing = try await call("GET", linked, "")
        let shown = try #require((failing.json?["domains"] as? [[String: Any]])?.first)
        #expect(shown["sslStatus"] as? String == "FAILING" && shown["configuredBy"] as? String == "CNAME")
        // Removed in Vercel's dashboard, behind the service's back.
        try linked.connected.vercel.removeDomain(name, projectID: linked.vercelProject.id, linked.connected.credentials)
        try check(name)
        try check(name)
        #expect(try stored(name)?["state"] == "removed")

        #expect(
            try history(name) == [
                "none>pending", "pending>misconfigured", "misconfigured>active", "active>misconfigured",
                "misconfigured>certificate_failing", "certificate_failing>removed",
            ])
        let alerted = try alerts(name)
        #expect(
            alerted == [
                "pending>misconfigured info", "misconfigured>active info", "active>misconfigured warning",
                "misconfigured>certificate_failing warning", "certificate_failing>removed warning",
            ], "\(alerted)")
        let verify = try await call("POST", linked, "/\(name)/verify")
        #expect(verify.status == 409 && verify.code == "DOMAIN_REMOVED_ON_VERCEL")
    }

    @Test func concurrentObserversWriteAChangeOnce() async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client, webhooks: false)
        let name = Self.uniqueName()
        let added = try await add(linked, ["domain": name])
        let txt = try #require((added.json?["verificationRecords"] as? [[String: Any]])?.first)
        try await linked.connected.account.publishDNS(
            name: txt["name"] as! String, type: "TXT", value: txt["value"] as! String)
        _ = try await call("POST", linked, "/\(name)/verify")
        try await linked.connected.account.publishDNS(
            name: name, type: "CNAME", value: try recommendedCNAME(name, linked))
        // Three job runs and five readers of the verification route see the same change at once.
        try fixtures.db.execute("UPDATE vercel_domains SET next_check_at = now() WHERE name = \(name)")
        let jobs = try (0..<3).map { _ in try runHealthJob() }
        let client = self.client
        let path = "\(linked.base)/domains/\(name)/verification?userId=\(linked.user)"
        try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<5 {
                group.addTask { try await client.signed("GET", path).status }
            }
            for try await status in group { #expect(status == 200) }
        }
        for job in jobs {
            job.waitUntilExit()
            #expect(job.terminationStatus == 0)
        }
        let seen = try history(name)
        #expect(seen.filter { $0.hasSuffix(">active") } == ["misconfigured>active"], "\(seen)")
        #expect(try alerts(name).filter { $0.contains(">active") }.count == 1)
    }

    @Test func aDomainNeverVerifiedIsAbandonedAfterSevenDays() async throws {
        let linked = try await LinkedProjectFixture.make(fixtures, client, webhooks: false)
        let name = Self.uniqueName()
        #expect(try await add(linked, ["domain": name]).status == 201)
        try fixtures.db.execute(
            "UPDATE vercel_domains SET created_at = now() - interval '8 days' WHERE name = \(name)")
        try check(name)
        #expect(try stored(name)?["state"] == "abandoned" && stored(name)?["verification"] == "FAILED")
        #expect(try alerts(name) == ["pending>abandoned warning"])
        let listed = try await call("GET", linked, "")
        #expect((listed.json?["domains"] as? [[String: Any]])?.first?["verificationStatus"] as? String == "FAILED")
        // Final: the job does not look at it again, and adding it again starts over.
        let before = try await linked.connected.account.requests()["GET /v9/projects/:id/domains/:domain"] ?? 0
        try check(name)
        #expect(try await linked.connected.account.requests()["GET /v9/projects/:id/domains/:domain"] ?? 0 == before)
        let again = try await add(linked, ["domain": name])
        #expect(again.status == 200 && again.json?["adopted"] as? Bool == true, "\(again.text)")
        #expect(try stored(name)?["state"] == "pending")
    }
}
