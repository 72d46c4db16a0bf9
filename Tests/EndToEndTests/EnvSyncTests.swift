import Crypto
import Foundation
import Platform
import Postgres
import TestSupport
import Testing
import Vercel

/// Environment variables through nginx against the simulator: a to_vercel sync creates, updates and
/// (with propagateDeletes) deletes only this service's variables; another integration's survives; a
/// dashboard edit is a conflict; production needs the token of a dry run of the same plan; a sync
/// cut off halfway finishes on rerun; no value in any answer, log line or audit row.
@Suite(.serialized) struct EnvSyncTests {
    let client: StackClient
    let fixtures = StackFixtures()
    let settings: [String: String]

    init() throws {
        client = try StackClient()
        settings = try TestEnvironment.stackConfiguration()
    }

    /// Every answer the test received, to look for values in.
    final class Seen: @unchecked Sendable {
        var texts: [String] = []
    }

    func put(
        _ linked: LinkedProjectFixture, _ key: String, _ fields: [String: Any], seen: Seen
    ) async throws -> StackClient.Reply {
        var body = fields
        body["userId"] = linked.user.uuidString
        let json = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
        let reply = try await client.signed("PUT", "\(linked.base)/env/\(key)", json: json)
        seen.texts.append(reply.text)
        return reply
    }

    func sync(_ linked: LinkedProjectFixture, _ fields: [String: Any], seen: Seen) async throws -> StackClient.Reply {
        var body = fields
        body["userId"] = linked.user.uuidString
        let json = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
        let reply = try await client.signed("POST", "\(linked.base)/env/sync", json: json)
        seen.texts.append(reply.text)
        return reply
    }

    /// The change of `key` in a sync's answer: its action, or its result once applied.
    func change(_ reply: StackClient.Reply, _ key: String) -> [String: Any]? {
        (reply.json?["changes"] as? [[String: Any]])?.first { $0["key"] as? String == key }
    }

    /// Vercel's variables of the project (the simulator's), by key: values decrypted one by one.
    func atVercel(_ linked: LinkedProjectFixture) throws -> [String: [VercelEnvVariable]] {
        let vercel = linked.connected.vercel
        let credentials = linked.connected.credentials
        var byKey: [String: [VercelEnvVariable]] = [:]
        for listed in try vercel.envVariables(projectID: linked.vercelProject.id, credentials) {
            byKey[listed.key, default: []].append(
                try vercel.envVariable(id: try #require(listed.id), projectID: linked.vercelProject.id, credentials))
        }
        return byKey
    }

    @Test func aToVercelSyncTouchesOnlyWhatIsOursAndADashboardEditIsAConflict() async throws {
        let seen = Seen()
        let linked = try await LinkedProjectFixture.make(fixtures, client, webhooks: false)
        // Another integration's variable, made in Vercel.
        _ = try linked.connected.vercel.createEnvVariables(
            [VercelNewEnvVariable(key: "FOREIGN_TOKEN", value: "foreign-secret-value-1", target: ["preview"])],
            projectID: linked.vercelProject.id, linked.connected.credentials)
        let apiURL = "https://api.example.com/v1-\(UUID().uuidString.prefix(6))"
        let secret = "s3cr3t-\(UUID().uuidString)"
        #expect(
            try await put(linked, "API_URL", ["value": apiURL, "target": ["preview"], "localOnly": true], seen: seen)
                .status == 200)
        #expect(
            try await put(
                linked, "DB_PASSWORD", ["value": secret, "target": ["preview"], "localOnly": true], seen: seen
            ).status == 200)

        let planned = try await sync(
            linked, ["direction": "to_vercel", "target": "preview", "dryRun": true], seen: seen)
        #expect(planned.status == 200, "\(planned.text)")
        #expect(change(planned, "API_URL")?["action"] as? String == "create")
        #expect(change(planned, "DB_PASSWORD")?["action"] as? String == "create")
        #expect(change(planned, "FOREIGN_TOKEN")?["reason"] as? String == "nothing_to_do")
        #expect(planned.json?["confirmationToken"] as? String != nil && planned.json?["applied"] as? Bool == false)
        #expect(try atVercel(linked).keys.sorted() == ["FOREIGN_TOKEN"])

        let applied = try await sync(linked, ["direction": "to_vercel", "target": "preview"], seen: seen)
        #expect(applied.json?["applied"] as? Bool == true, "\(applied.text)")
        #expect(change(applied, "API_URL")?["result"] as? String == "applied")
        var vercel = try atVercel(linked)
        #expect(vercel["API_URL"]?.first?.value == apiURL && vercel["DB_PASSWORD"]?.first?.value == secret)

        // The platform's value changes: the sync updates Vercel's.
        let newURL = apiURL + "/v2"
        _ = try await put(linked, "API_URL", ["value": newURL, "target": ["preview"], "localOnly": true], seen: seen)
        let updated = try await sync(linked, ["direction": "to_vercel", "target": "preview"], seen: seen)
        #expect(change(updated, "API_URL")?["action"] as? String == "update", "\(updated.text)")
        #expect(try atVercel(linked)["API_URL"]?.map(\.value) == [newURL])

        // Deleted here: gone from Vercel only when deletes are carried; the foreign one survives both.
        let deleted = try await client.signed(
            "DELETE", "\(linked.base)/env/DB_PASSWORD?userId=\(linked.user)&target=preview&localOnly=true")
        #expect(deleted.status == 200, "\(deleted.text)")
        let kept = try await sync(linked, ["direction": "to_vercel", "target": "preview"], seen: seen)
        #expect(change(kept, "DB_PASSWORD")?["reason"] as? String == "delete_not_propagated")
        let carried = try await sync(
            linked, ["direction": "to_vercel", "target": "preview", "propagateDeletes": true], seen: seen)
        #expect(change(carried, "DB_PASSWORD")?["result"] as? String == "applied", "\(carried.text)")
        vercel = try atVercel(linked)
        #expect(vercel.keys.sorted() == ["API_URL", "FOREIGN_TOKEN"])
        #expect(vercel["FOREIGN_TOKEN"]?.first?.value == "foreign-secret-value-1")

        // Someone edits API_URL in Vercel's dashboard: pushing would undo it, so it is a conflict.
        _ = try await linked.connected.account.admin(
            "PUT", "/_sim/projects/\(linked.vercelProject.id)/env/API_URL", ["value": "https://edited.example.com"])
        let conflicted = try await sync(linked, ["direction": "to_vercel", "target": "preview"], seen: seen)
        #expect(change(conflicted, "API_URL")?["action"] as? String == "conflict", "\(conflicted.text)")
        #expect(try atVercel(linked)["API_URL"]?.first?.value == "https://edited.example.com")
        let listed = try await client.signed("GET", "\(linked.base)/env?userId=\(linked.user)&target=preview")
        seen.texts.append(listed.text)
        let rows = try #require(listed.json?["variables"] as? [[String: Any]])
        #expect(rows.first { $0["key"] as? String == "API_URL" }?["status"] as? String == "differs")
        #expect(rows.first { $0["key"] as? String == "FOREIGN_TOKEN" }?["owned"] as? Bool == false)
        // Resolved for the platform, the edit is overwritten.
        let resolved = try await sync(
            linked, ["direction": "to_vercel", "target": "preview", "resolutions": ["API_URL": "platform"]], seen: seen)
        #expect(change(resolved, "API_URL")?["result"] as? String == "applied", "\(resolved.text)")
        #expect(try atVercel(linked)["API_URL"]?.first?.value == newURL)

        try expectNoValue([apiURL, newURL, secret, "foreign-secret-value-1"], in: seen, project: linked.project)
    }

    @Test func productionNeedsTheTokenOfADryRunOfTheSamePlan() async throws {
        let seen = Seen()
        let linked = try await LinkedProjectFixture.make(fixtures, client, webhooks: false)
        let value = "prod-value-\(UUID().uuidString)"
        _ = try await put(
            linked, "STRIPE_KEY", ["value": value, "target": ["production"], "localOnly": true], seen: seen)
        let refused = try await sync(linked, ["direction": "to_vercel", "target": "production"], seen: seen)
        #expect(refused.status == 409 && refused.code == "CONFIRMATION_REQUIRED", "\(refused.text)")
        #expect(try atVercel(linked)["STRIPE_KEY"] == nil)

        let planned = try await sync(
            linked, ["direction": "to_vercel", "target": "production", "dryRun": true], seen: seen)
        let token = try #require(planned.json?["confirmationToken"] as? String)
        #expect(planned.json?["requiresConfirmation"] as? Bool == true)
        // The platform's value changes after the dry run: the token no longer fits the plan.
        _ = try await put(
            linked, "STRIPE_KEY", ["value": value + "-2", "target": ["production"], "localOnly": true], seen: seen)
        let stale = try await sync(
            linked, ["direction": "to_vercel", "target": "production", "confirmationToken": token], seen: seen)
        #expect(stale.status == 409 && stale.code == "SYNC_PLAN_STALE", "\(stale.text)")
        #expect(try atVercel(linked)["STRIPE_KEY"] == nil)
        let fresh = try #require(stale.json?["confirmationToken"] as? String)
        let applied = try await sync(
            linked, ["direction": "to_vercel", "target": "production", "confirmationToken": fresh], seen: seen)
        #expect(
            applied.status == 200 && change(applied, "STRIPE_KEY")?["result"] as? String == "applied", "\(applied.text)"
        )
        #expect(try atVercel(linked)["STRIPE_KEY"]?.first?.value == value + "-2")
        let again = try await sync(
            linked, ["direction": "to_vercel", "target": "production", "confirmationToken": fresh], seen: seen)
        #expect(again.code == "CONFIRMATION_INVALID")
        try expectNoValue([value, value + "-2"], in: seen, project: linked.project)
    }

    @Test func aSyncCutOffHalfwayFinishesOnRerunWithNoDuplicate() async throws {
        let seen = Seen()
        let linked = try await LinkedProjectFixture.make(fixtures, client, webhooks: false)
        let store = EnvStore(
            database: fixtures.db, keyRing: try KeyRing(parsing: try #require(settings["TOKEN_ENCRYPTION_KEYS"])),
            hasher: EnvValueHasher(secret: Array(try #require(settings["SHEEN_HMAC_SECRET"]).utf8)))
        for n in 0..<120 {
            try store.setLocal(
                "value-\(n)-\(UUID().uuidString)", slot: .init(key: "VAR_\(n)", target: "preview"), type: "encrypted",
                projectID: linked.project)
        }
        // One batch of 50 goes through, then every write fails.
        try await linked.connected.account.setFaults(["envWritesBeforeFailure": 1])
        let cut = try await sync(linked, ["direction": "to_vercel", "target": "preview"], seen: seen)
        #expect(cut.status == 200 && cut.json?["interrupted"] as? Bool == true, "\(cut.text)")
        let results = (cut.json?["changes"] as? [[String: Any]] ?? []).compactMap { $0["result"] as? String }
        #expect(results.filter { $0 == "applied" }.count == 50 && results.filter { $0 == "not_applied" }.count == 70)
        #expect(try atVercel(linked).count == 50)

        try await linked.connected.account.setFaults(["envWritesBeforeFailure": -1])
        let rerun = try await sync(linked, ["direction": "to_vercel", "target": "preview"], seen: seen)
        let actions = (rerun.json?["changes"] as? [[String: Any]] ?? []).compactMap { $0["action"] as? String }
        #expect(actions.filter { $0 == "create" }.count == 70 && actions.filter { $0 == "in_sync" }.count == 50)
        #expect(rerun.json?["interrupted"] as? Bool == false)
        let vercel = try atVercel(linked)
        #expect(vercel.count == 120 && vercel.values.allSatisfy { $0.count == 1 })
        // Vercel calls: one list (and no value fetched for what the base vouches for), a write per batch.
        let calls = try #require(rerun.json?["vercelCalls"] as? [String: Any])
        #expect(calls["writes"] as? Int == 2 && calls["reads"] as? Int == 1, "\(calls)")
    }

    @Test func fromVercelPullsReadableValuesAndNeverASensitiveOneAsEmpty() async throws {
        let seen = Seen()
        let linked = try await LinkedProjectFixture.make(fixtures, client, webhooks: false)
        let vercel = linked.connected.vercel
        _ = try vercel.createEnvVariables(
            [
                VercelNewEnvVariable(
                    key: "PUBLIC_URL", value: "https://public.example.com", type: "plain", target: ["preview"]),
                VercelNewEnvVariable(key: "API_TOKEN", value: "api-token-from-vercel-123", target: ["preview"]),
                VercelNewEnvVariable(
                    key: "SIGNING_KEY", value: "sensitive-signing-key-456", type: "sensitive", target: ["preview"]),
            ], projectID: linked.vercelProject.id, linked.connected.credentials)
        let pulled = try await sync(linked, ["direction": "from_vercel", "target": "preview"], seen: seen)
        #expect(change(pulled, "PUBLIC_URL")?["result"] as? String == "applied", "\(pulled.text)")
        #expect(change(pulled, "API_TOKEN")?["result"] as? String == "applied")
        #expect(change(pulled, "SIGNING_KEY")?["reason"] as? String == "unreadable")
        let store = EnvStore(
            database: fixtures.db, keyRing: try KeyRing(parsing: try #require(settings["TOKEN_ENCRYPTION_KEYS"])),
            hasher: EnvValueHasher(secret: Array(try #require(settings["SHEEN_HMAC_SECRET"]).utf8)))
        let locals = Dictionary(
            uniqueKeysWithValues: try store.locals(projectID: linked.project).map {
                ($0.slot.key, try store.value(of: $0))
            })
        #expect(locals == ["PUBLIC_URL": "https://public.example.com", "API_TOKEN": "api-token-from-vercel-123"])

        // Bidirectional: a change on each side goes the other way; a change on both is a conflict.
        _ = try await put(
            linked, "PUBLIC_URL",
            ["value": "https://changed-here.example.com", "target": ["preview"], "localOnly": true], seen: seen)
        _ = try await linked.connected.account.admin(
            "PUT", "/_sim/projects/\(linked.vercelProject.id)/env/API_TOKEN", ["value": "api-token-rotated-in-vercel"])
        let both = try await sync(linked, ["direction": "bidirectional", "target": "preview"], seen: seen)
        // PUBLIC_URL was pulled, not made here: it is not overwritten until the sync adopts it.
        #expect(change(both, "PUBLIC_URL")?["reason"] as? String == "not_owned", "\(both.text)")
        #expect(change(both, "API_TOKEN")?["action"] as? String == "pull")
        #expect(try atVercel(linked)["PUBLIC_URL"]?.first?.value == "https://public.example.com")
        let adopted = try await sync(
            linked, ["direction": "bidirectional", "target": "preview", "adopt": true], seen: seen)
        #expect(change(adopted, "PUBLIC_URL")?["result"] as? String == "applied", "\(adopted.text)")
        #expect(try atVercel(linked)["PUBLIC_URL"]?.first?.value == "https://changed-here.example.com")
        let token = try #require(try store.locals(projectID: linked.project).first { $0.slot.key == "API_TOKEN" })
        #expect(try store.value(of: token) == "api-token-rotated-in-vercel")
        try expectNoValue(
            ["api-token-from-vercel-123", "sensitive-signing-key-456", "api-token-rotated-in-vercel"], in: seen,
            project: linked.project)
    }

    @Test func aRateLimitedDeleteWaitsForVercelsResetAndIsApplied() async throws {
        let seen = Seen()
        let linked = try await LinkedProjectFixture.make(fixtures, client, webhooks: false)
        let set = try await put(linked, "OLD_FLAG", ["value": "on", "target": ["preview"]], seen: seen)
        #expect((set.json?["vercel"] as? [String: Any])?["status"] as? String == "applied", "\(set.text)")
        _ = try await client.signed(
            "DELETE", "\(linked.base)/env/OLD_FLAG?userId=\(linked.user)&target=preview&localOnly=true")
        try await linked.connected.account.setFaults(["rateLimitedDeletes": 1])
        let carried = try await sync(
            linked, ["direction": "to_vercel", "target": "preview", "propagateDeletes": true], seen: seen)
        #expect(change(carried, "OLD_FLAG")?["result"] as? String == "applied", "\(carried.text)")
        // Refused once with 429 and Retry-After, asked again after it: two calls.
        #expect(try await linked.connected.account.requests()["DELETE /v1/projects/:id/env"] == 2)
        #expect(try atVercel(linked)["OLD_FLAG"] == nil)
    }

    @Test func oneSyncAtATimeAndAWarningPast64KB() async throws {
        let seen = Seen()
        let linked = try await LinkedProjectFixture.make(fixtures, client, webhooks: false)
        for key in ["BLOB_A", "BLOB_B"] {
            let reply = try await put(
                linked, key,
                ["value": String(repeating: "b", count: 40_000), "target": ["preview"], "localOnly": true],
                seen: seen)
            #expect(reply.status == 200)
        }
        let listed = try await client.signed("GET", "\(linked.base)/env?userId=\(linked.user)")
        #expect((listed.json?["warnings"] as? [String])?.first?.contains("preview") == true, "\(listed.text)")
        // Another sync of the project holds its lock (here, this test's session).
        let lock = "sheen.vercel.env-sync.\(linked.project.uuidString.lowercased())"
        let holder = PostgresConnection(.init(url: try TestEnvironment.require("TEST_DATABASE_URL")))
        defer { holder.close() }
        _ = try holder.query("SELECT pg_advisory_lock(hashtextextended(\(lock), 0))")
        let busy = try await sync(linked, ["direction": "to_vercel", "target": "preview"], seen: seen)
        #expect(busy.status == 409 && busy.code == "SYNC_IN_PROGRESS" && busy.header("retry-after") == "2")
        _ = try holder.query("SELECT pg_advisory_unlock(hashtextextended(\(lock), 0))")
        let free = try await sync(linked, ["direction": "to_vercel", "target": "preview"], seen: seen)
        #expect(free.status == 200 && (free.json?["warnings"] as? [String])?.isEmpty == false, "\(free.text)")
    }

    @Test func badInputIsRefusedWithACode() async throws {
        let seen = Seen()
        let linked = try await LinkedProjectFixture.make(fixtures, client, webhooks: false)
        let cases: [(String, [String: Any], String)] = [
            ("1BAD", ["value": "x", "target": ["preview"]], "INVALID_KEY"),
            ("VERCEL_URL", ["value": "x", "target": ["preview"]], "RESERVED_KEY"),
            ("TZ", ["value": "x", "target": ["preview"]], "RESERVED_KEY"),
            ("BIG", ["value": String(repeating: "v", count: 65_537), "target": ["preview"]], "VALUE_TOO_LONG"),
            ("SECRET", ["value": "x", "target": ["development"], "type": "sensitive"], "SENSITIVE_ON_DEVELOPMENT"),
            ("STAGE", ["value": "x", "target": ["staging"]], "INVALID_TARGET"),
            ("EMPTY", ["value": "x", "target": []], "INVALID_TARGET"),
        ]
        for (key, fields, code) in cases {
            let reply = try await put(linked, key, fields, seen: seen)
            #expect(reply.status == 400 && reply.code == code, "\(key): \(reply.text)")
        }
        #expect(
            try await sync(linked, ["direction": "sideways", "target": "preview"], seen: seen).code
                == "INVALID_DIRECTION")
        // A value set for a linked project at once reaches Vercel, as one variable per target.
        let set = try await put(
            linked, "SHARED", ["value": "shared-value-abc", "target": ["production", "preview"]], seen: seen)
        #expect((set.json?["vercel"] as? [String: Any])?["status"] as? String == "applied", "\(set.text)")
        #expect((set.json?["variable"] as? [String: Any])?["masked"] as? String == "****bc")
        #expect(try atVercel(linked)["SHARED"]?.count == 2)
        let removed = try await client.signed("DELETE", "\(linked.base)/env/SHARED?userId=\(linked.user)")
        #expect(removed.status == 200 && (removed.json?["vercel"] as? [String: Any])?["status"] as? String == "applied")
        #expect(try atVercel(linked)["SHARED"] == nil)
    }

    /// No value in any answer the test saw, any log line, or any audit row of the project.
    func expectNoValue(_ values: [String], in seen: Seen, project: UUID) throws {
        let logs = try StackFixtures.logs()
        let audit =
            try fixtures.db.query(
                "SELECT coalesce(string_agg(details::text, ' '), '') AS all FROM vercel_security_audit_log WHERE project_id = \(project)"
            )[0]["all"] ?? ""
        for value in values {
            #expect(!seen.texts.contains { $0.contains(value) }, "an answer holds a value")
            #expect(!logs.contains(value), "a log line holds a value")
            #expect(!audit.contains(value), "an audit row holds a value")
        }
    }
}
