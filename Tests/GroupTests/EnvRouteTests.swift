import EnvGroup
import Foundation
import Kernel
import Platform
import PlatformHost
import Synchronization
import Testing

/// Every route of the `env` group, called in process with Vercel scripted: what each answers, what
/// it stores, and how many round trips to Postgres it costs.
@Suite(.serialized) struct EnvRouteTests {
    let harness: GroupHarness
    let user: UUID
    let project: UUID

    init() throws {
        harness = try GroupHarness(EnvGroup.group)
        user = try harness.user()
        project = try harness.project(of: user)
        try harness.link(project, connection: try harness.connect(user))
    }

    var base: String { "/v1/projects/\(project.uuidString.lowercased())/vercel/env" }

    /// Vercel's list of the project's variables: `envs` as given, with `pagination`.
    func listing(_ envs: String) {
        harness.vercel.on(
            "GET", "/v10/projects/prj_1/env",
            json: #"{"envs":[\#(envs)],"pagination":{"count":1,"next":null,"prev":null}}"#)
    }

    @Test func aLocalValueIsListedWithoutItsValueAndDeletedHere() throws {
        defer { harness.drop() }
        listing("")
        let stored = try harness.call(
            "PUT", "\(base)/API_URL", as: user,
            json: ["value": "https://api.example.com/s3cret", "target": ["preview"], "localOnly": true])
        #expect(stored.status == 200, "\(stored.text)")
        #expect((stored.json["vercel"] as? [String: Any])?["status"] as? String == "skipped")
        #expect(harness.vercel.sent.isEmpty, "a local-only write does not call Vercel")

        let listed = try harness.call("GET", base, as: user)
        let rows = try #require(listed.json["variables"] as? [[String: Any]])
        #expect(rows.map { $0["key"] as? String } == ["API_URL"] && rows.first?["status"] as? String == "platform_only")
        #expect(!listed.text.contains("s3cret"), "the list never holds an encrypted value")
        #expect(listed.statements <= 5, "env list took \(listed.statements) round trips")

        let deleted = try harness.call("DELETE", "\(base)/API_URL?target=preview&localOnly=true", as: user)
        #expect(deleted.status == 200 && deleted.json["deleted"] as? Bool == true, "\(deleted.text)")
        #expect(
            try harness.call("DELETE", "\(base)/API_URL?target=preview&localOnly=true", as: user).code
                == "VARIABLE_NOT_FOUND")
    }

    @Test func aWriteIsAppliedToVercelAndItsVariableIsOursEvenWhenVercelLeavesOutItsId() throws {
        defer { harness.drop() }
        listing("")
        harness.vercel.on(
            "POST", "/v10/projects/prj_1/env",
            status: 201,
            json:
                #"{"created":{"key":"TOKEN","value":"","type":"encrypted","target":"preview","createdAt":1790000000000,"updatedAt":1790000000000},"failed":[]}"#
        )
        let written = try harness.call(
            "PUT", "\(base)/TOKEN", as: user, json: ["value": "tok-secret", "target": ["preview"]])
        #expect((written.json["vercel"] as? [String: Any])?["status"] as? String == "applied", "\(written.text)")
        #expect(!written.text.contains("tok-secret"))
        let state = try harness.db.query(
            "SELECT vercel_env_id, owned FROM vercel_env_sync_state WHERE project_id = \(project)")
        #expect(state.first?["vercel_env_id"] == "created-1790000000000-TOKEN" && state.first?["owned"] == "t")

        // Vercel lists it as the service wrote it: in sync, ours.
        listing(
            #"{"key":"TOKEN","value":"","type":"encrypted","target":"preview","createdAt":1790000000000,"updatedAt":1790000000000}"#
        )
        let listed = try harness.call("GET", "\(base)?target=preview", as: user)
        let row = try #require((listed.json["variables"] as? [[String: Any]])?.first)
        #expect(row["status"] as? String == "in_sync" && row["owned"] as? Bool == true, "\(listed.text)")
    }

    @Test func aDryRunSyncPlansWithoutWritingAndTheApplyWritesOnce() throws {
        defer { harness.drop() }
        listing(
            #"{"id":"env_custom","key":"STAGING_ONLY","value":"","type":"encrypted","customEnvironmentIds":["env_c1"]}"#
        )
        _ = try harness.call(
            "PUT", "\(base)/CACHE_URL", as: user,
            json: ["value": "redis://cache", "target": ["preview"], "localOnly": true])
        let planned = try harness.call(
            "POST", "\(base)/sync", as: user, json: ["direction": "to_vercel", "target": "preview", "dryRun": true])
        #expect(planned.status == 200 && planned.json["applied"] as? Bool == false, "\(planned.text)")
        let changes = try #require(planned.json["changes"] as? [[String: Any]])
        #expect(changes.map { $0["key"] as? String } == ["CACHE_URL"], "a custom environment's variable is no slot")
        #expect(changes.first?["action"] as? String == "create")
        #expect(!harness.vercel.sent.contains("POST /v10/projects/prj_1/env"))

        harness.vercel.on(
            "POST", "/v10/projects/prj_1/env", status: 201,
            json:
                #"{"created":[{"id":"env_new","key":"CACHE_URL","value":"","type":"encrypted","target":["preview"],"createdAt":1790000000001,"updatedAt":1790000000001}],"failed":[]}"#
        )
        let applied = try harness.call(
            "POST", "\(base)/sync", as: user, json: ["direction": "to_vercel", "target": "preview"])
        #expect(applied.json["applied"] as? Bool == true, "\(applied.text)")
        #expect(
            (applied.json["changes"] as? [[String: Any]])?.first?["result"] as? String == "applied", "\(applied.text)")
        #expect(harness.vercel.sent.filter { $0 == "POST /v10/projects/prj_1/env" }.count == 1)
        #expect(!harness.vercel.sent.contains { $0.hasPrefix("DELETE") }, "nothing of Vercel's own was deleted")
    }

    /// Vercel's create, answering each variable sent as created.
    func echoingCreates() {
        harness.vercel.on("POST", "/v10/projects/prj_1/env") { request in
            let sent = (try? JSONSerialization.jsonObject(with: Data(request.body))) as? [[String: Any]] ?? []
            let created = sent.enumerated().map { index, variable -> [String: Any] in
                [
                    "id": "env_\(variable["key"] ?? "")", "key": variable["key"] ?? "", "value": "",
                    "type": "encrypted",
                    "target": variable["target"] ?? [], "createdAt": 1_790_000_000_000 + index,
                    "updatedAt": 1_790_000_000_000 + index,
                ]
            }
            let body = try! JSONSerialization.data(withJSONObject: ["created": created, "failed": []])
            return HTTPResponse(status: 201, body: Array(body))
        }
    }

    /// The round trips of a to_vercel apply that creates `count` variables.
    func applyCost(creating count: Int) throws -> Int {
        for n in 0..<count {
            _ = try harness.call(
                "PUT", "\(base)/VAR_\(count)_\(n)", as: user,
                json: ["value": "value-\(n)", "target": ["preview"], "localOnly": true])
        }
        let applied = try harness.call(
            "POST", "\(base)/sync", as: user, json: ["direction": "to_vercel", "target": "preview"])
        #expect(applied.json["applied"] as? Bool == true, "\(applied.text)")
        let results = (applied.json["changes"] as? [[String: Any]])?.compactMap { $0["result"] as? String } ?? []
        #expect(results.filter { $0 == "applied" }.count == count, "\(applied.text)")
        return applied.statements
    }

    @Test func aSyncApplyCostsTheSameRoundTripsForTwoVariablesAsForTwenty() throws {
        defer { harness.drop() }
        listing("")
        echoingCreates()
        let few = try applyCost(creating: 2)
        try harness.db.execute("DELETE FROM vercel_local_env_vars WHERE project_id = \(project)")
        try harness.db.execute("DELETE FROM vercel_env_sync_state WHERE project_id = \(project)")
        let many = try applyCost(creating: 20)
        #expect(many == few, "two variables took \(few) round trips, twenty took \(many)")
        #expect(many <= 9, "an apply took \(many) round trips")
        let states = try harness.db.query(
            "SELECT count(*) AS n FROM vercel_env_sync_state WHERE project_id = \(project) AND owned")
        #expect(states.first?["n"] == "20")
    }

    @Test func badInputIsRefusedBeforeAnyWork() throws {
        defer { harness.drop() }
        #expect(
            try harness.call("PUT", "\(base)/1BAD", as: user, json: ["value": "v", "target": ["preview"]]).status == 400
        )
        #expect(
            try harness.call("PUT", "\(base)/GOOD", as: user, json: ["value": "v", "target": ["staging"]]).code
                == "INVALID_TARGET")
        #expect(
            try harness.call("POST", "\(base)/sync", as: user, json: ["direction": "sideways", "target": "preview"])
                .status == 400)
        #expect(try harness.call("GET", "\(base)?target=staging", as: user).code == "INVALID_TARGET")
        #expect(harness.vercel.sent.isEmpty)
    }
}
