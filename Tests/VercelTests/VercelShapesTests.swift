import Foundation
import Kernel
import Logging
import TestSupport
import Testing
import Vercel

/// The client reads Vercel's answers as Vercel sends them: the example bodies of Vercel's SDK test
/// suite of 2026 (`Tests/Fixtures/vercel-2026/`, kept byte for byte), and one hand-written body per
/// union branch (`variants/`). Each goes through the client's own call, as a scripted Vercel answers.
@Suite struct VercelShapesTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Fixtures/vercel-2026").standardized

    /// A fixture as kept.
    static func original(_ name: String) throws -> String {
        try String(contentsOf: folder.appendingPathComponent(name + ".json"), encoding: .utf8)
    }

    /// A copy of a fixture with every number rounded to a whole one (the suite's numbers are random
    /// fractions; Vercel's times are whole milliseconds).
    static func rounded(_ name: String) throws -> String {
        func round(_ value: JSONValue) -> JSONValue {
            switch value {
            case .number(let number): .integer(Int(number.rounded()))
            case .array(let items): .array(items.map(round))
            case .object(let members): .object(members.mapValues(round))
            default: value
            }
        }
        return round(try JSONDecoder().decode(JSONValue.self, from: Data(try original(name).utf8))).serializedText
    }

    /// A client whose Vercel answers `method path` with `body`.
    static func client(_ method: String, _ path: String, _ body: String, status: Int = 200) -> VercelClient {
        let vercel = ScriptedVercel()
        vercel.on(method, path, status: status, json: body)
        return VercelClient(
            configuration: .init(apiBaseURL: "https://api.example.test"), transport: vercel, breakers: nil,
            logger: Logger(label: "test"))
    }

    static var credentials: VercelClient.Credentials { VercelClient.Credentials(accessToken: "vca_test") }

    @Test(arguments: [false, true])
    func theSDKSuitesDeploymentAnswersAreRead(roundedNumbers: Bool) throws {
        let body = { (name: String) in roundedNumbers ? try Self.rounded(name) : try Self.original(name) }
        let deployment = try Self.client("GET", "/v13/deployments/", try body("getDeployment")).deployment(
            "dpl_89qyp1cskzkLrVicDaZoDbjyHuDJ", Self.credentials)
        #expect(deployment.readyState == "ERROR" && deployment.type == "LAMBDAS" && deployment.regions?.count == 3)
        #expect(deployment.creator?.uid == "<id>" && deployment.projectId == nil)
        // A fraction of a millisecond is dropped (548.4 is 548; 9364.53 is 9364 as kept, 9365 rounded).
        #expect(deployment.createdAt == 548 && deployment.buildingAt == 7418)
        let created = try Self.client("POST", "/v13/deployments", try body("createDeployment")).createDeployment(
            VercelDeploymentRequest(name: "site"), Self.credentials)
        #expect(!created.id.isEmpty && !created.url.isEmpty)
        let canceled = try Self.client("PATCH", "/v12/deployments/", try body("cancelDeployment")).cancelDeployment(
            "dpl_1", Self.credentials)
        #expect(!canceled.id.isEmpty)
        let page = try Self.client("GET", "/v6/deployments", try body("getDeployments")).deployments(
            projectID: "prj_1", Self.credentials)
        #expect(page.items.isEmpty && page.next == .number(1_540_095_775_951))
    }

    @Test(arguments: [false, true])
    func theSDKSuitesBuildEventsAreReadFlatAndWrapped(roundedNumbers: Bool) throws {
        let body = roundedNumbers ? try Self.rounded("getDeploymentEvents") : try Self.original("getDeploymentEvents")
        var events: [VercelBuildEvent] = []
        try Self.client("GET", "/v3/deployments/", body).buildEvents(
            deploymentID: "dpl_1", follow: false, Self.credentials
        ) {
            events.append($0)
            return true
        }
        #expect(events.map(\.type) == ["command", "stderr", "stderr"])
        #expect(
            events[0].info?.name == "<value>" && events[0].serial == "<value>"
                && events[0].created == (roundedNumbers ? 9365 : 9364))
        // The wrapped items' fields come from their payload.
        #expect(events[1].id == "<id>" && events[1].date == 7964 && events[1].serial == "<value>")
    }

    @Test func flatEventsCarryLevelStepAndSerialAndSkipKeepalivesNullsAndTheUnreadable() throws {
        let before = VercelDecoding.skippedItems["build_event"] ?? 0
        var events: [VercelBuildEvent] = []
        try Self.client("GET", "/v3/deployments/", try Self.original("variants/events-flat")).buildEvents(
            deploymentID: "dpl_flat", follow: false, Self.credentials
        ) {
            events.append($0)
            return true
        }
        #expect(events.map(\.type) == ["deployment-state", "alias-assigned", "stderr", "deployment-state"])
        #expect(events[0].readyState == "QUEUED" && !events[0].isBuildEnd)
        #expect(events[2].level == "error" && events[2].info?.step == "build" && events[2].created == 1_796_219_499_100)
        #expect(events[3].isBuildEnd && events[3].readyState == "ERROR" && events[3].serial == "1796219499200000002")
        #expect((VercelDecoding.skippedItems["build_event"] ?? 0) >= before + 1, "the number 42 was counted")

        var wrapped: [VercelBuildEvent] = []
        try Self.client("GET", "/v3/deployments/", try Self.original("variants/events-wrapped")).buildEvents(
            deploymentID: "dpl_old", follow: false, Self.credentials
        ) {
            wrapped.append($0)
            return true
        }
        #expect(wrapped.map(\.text) == ["Running \"vercel build\"", nil])
        #expect(wrapped[1].serial == "1796219499200000001" && wrapped[1].isBuildEnd)
    }

    @Test func envListsOfEveryShapeAreReadAndOneUnreadableVariableDoesNotFailTheList() throws {
        let before = VercelDecoding.skippedItems["env_variable"] ?? 0
        let listed = try Self.client("GET", "/v10/projects/", try Self.original("variants/env-list")).envVariables(
            projectID: "prj_1", Self.credentials)
        #expect(listed.map(\.key) == ["API_URL", "NO_ID", "STAGING_ONLY", "SECRET"])
        #expect(listed[0].target == ["production"] && listed[0].id == "env_string_target")
        #expect(
            listed[1].id == nil && listed[1].identity == "created-1796219498962-NO_ID"
                && listed[1].createdAt == 1_796_219_498_962)
        #expect(listed[2].target.isEmpty && listed[2].customEnvironmentIds == ["env_c0ffee"])
        #expect(listed[3].gitBranch == "release")
        #expect(VercelDecoding.skippedItems["env_variable"] == before + 1)

        let bare = try Self.client("GET", "/v10/projects/", try Self.original("variants/env-list-bare")).envVariables(
            projectID: "prj_1", Self.credentials)
        let one = try Self.client("GET", "/v10/projects/", try Self.original("variants/env-list-one")).envVariables(
            projectID: "prj_1", Self.credentials)
        #expect(bare.map(\.key) == ["ONLY"] && one.map(\.target) == [["preview"]])

        let fetched = try Self.client("GET", "/v1/projects/", try Self.original("getProjectEnv")).envVariable(
            id: "env_1", projectID: "prj_1", Self.credentials)
        #expect(fetched.id == nil && fetched.type == "sensitive" && fetched.target.isEmpty)
    }

    @Test func aCreateIsReadWithCreatedAsAnArrayOneObjectOrNone() throws {
        let new = [VercelNewEnvVariable(key: "API_URL", value: "x", target: ["preview"])]
        let suite = try Self.client("POST", "/v10/projects/", try Self.original("createProjectEnv")).createEnvVariables(
            new, projectID: "prj_1", Self.credentials)
        #expect(suite.created.isEmpty && suite.failed.isEmpty)
        let object = try Self.client("POST", "/v10/projects/", try Self.original("variants/env-created-object"))
            .createEnvVariables(new, projectID: "prj_1", Self.credentials)
        #expect(object.created.map(\.id) == ["env_new"])
        let absent = try Self.client("POST", "/v10/projects/", try Self.original("variants/env-created-absent"))
            .createEnvVariables(new, projectID: "prj_1", Self.credentials)
        #expect(absent.created.isEmpty && absent.failed.map(\.error.key) == ["OTHER"])
        let removed = try Self.client("DELETE", "/v1/projects/", try Self.original("batchRemoveProjectEnv"))
            .deleteEnvVariables(ids: ["<value 1>", "<value 2>"], projectID: "prj_1", Self.credentials)
        #expect(removed == ["<value 1>", "<value 2>"])
    }

    @Test(arguments: [false, true])
    func theSDKSuitesProjectsAreRead(roundedNumbers: Bool) throws {
        let body = { (name: String) in roundedNumbers ? try Self.rounded(name) : try Self.original(name) }
        let page = try Self.client("GET", "/v10/projects", try body("getProjects")).projects(Self.credentials)
        #expect(page.items.count == 2 && page.items.allSatisfy { $0.nodeVersion == "14.x" })
        #expect(page.next == .number(1_540_095_775_951))
        let created = try Self.client("POST", "/v11/projects", try body("createProject")).createProject(
            VercelProjectSettings(name: "site"), Self.credentials)
        let updated = try Self.client("PATCH", "/v9/projects/", try body("updateProject")).updateProject(
            "prj_1", VercelProjectSettings(buildCommand: "make"), Self.credentials)
        #expect(!created.id.isEmpty && !updated.id.isEmpty)
        let teams = try Self.client("GET", "/v2/teams", try body("getTeams")).teams(Self.credentials)
        #expect(teams.isEmpty)
    }

    @Test func everyKindOfProjectLinkIsReadAndAProjectWithoutAnIdIsSkipped() throws {
        let page = try Self.client("GET", "/v10/projects", try Self.original("variants/projects-links")).projects(
            Self.credentials)
        #expect(page.items.map(\.id) == ["prj_cursor", "prj_gitlab", "prj_bitbucket", "prj_github"])
        let links = page.items.map(\.link)
        #expect(
            links[0] == .init(type: "cursor-origin", repo: "site", org: nil, repoId: "cur_9f3a", productionBranch: nil))
        #expect(links[1] == .init(type: "gitlab", repo: "site", org: "acme", repoId: "4711", productionBranch: nil))
        #expect(links[2] == .init(type: "bitbucket", repo: "site", org: "acme", repoId: nil, productionBranch: nil))
        #expect(links[3]?.repoId == "12345" && page.items[3].createdAt == 1_796_219_498_961)
        #expect(page.next == .token("opaque-cursor"))
        let bare = try Self.client("GET", "/v10/projects", try Self.original("variants/projects-bare")).projects(
            Self.credentials)
        #expect(bare.items.map(\.id) == ["prj_bare"] && bare.next == nil)
    }

    @Test func aStagedDeploymentAndListsWithDeletedAndRollingAreRead() throws {
        let staged = try Self.client("GET", "/v13/deployments/", try Self.original("variants/deployment-staged"))
            .deployment("dpl_staged", Self.credentials)
        #expect(staged.isStaged && staged.createdAt == 1_796_219_498_961 && staged.ready == 1_796_219_500_000)
        #expect(staged.creator?.username == "dev" && staged.ownerId == "team_1")
        let page = try Self.client("GET", "/v6/deployments", try Self.original("variants/deployments-list"))
            .deployments(projectID: "prj_1", Self.credentials)
        #expect(page.items.map(\.uid) == ["dpl_deleted", "dpl_rolling"])
        #expect(page.items.map(\.state) == ["DELETED", "READY"] && page.items[1].readySubstate == "ROLLING")
        #expect(page.items[1].created == 1_796_219_499_961)
    }

    @Test func theSDKSuitesDomainAndAliasAnswersAreRead() throws {
        let domains = try Self.client("GET", "/v9/projects/", try Self.original("getProjectDomains")).domains(
            projectID: "prj_1", Self.credentials)
        #expect(domains.map(\.verified) == [true])
        for (method, path, name) in [
            ("GET", "/v9/projects/", "getProjectDomain"), ("POST", "/v10/projects/", "addProjectDomain"),
            ("POST", "/v9/projects/", "verifyProjectDomain"),
        ] {
            let client = Self.client(method, path, try Self.original(name))
            let domain =
                switch name {
                case "getProjectDomain": try client.domain("example.com", projectID: "prj_1", Self.credentials)
                case "addProjectDomain": try client.addDomain("example.com", projectID: "prj_1", Self.credentials)
                default: try client.verifyDomain("example.com", projectID: "prj_1", Self.credentials)
                }
            #expect(domain.name == "<value>", "\(name)")
        }
        let config = try Self.client("GET", "/v6/domains/", try Self.original("getDomainConfig")).domainConfig(
            "example.com", Self.credentials)
        #expect(!config.misconfigured && config.preferredIPv4.isEmpty)
        let alias = try Self.client("POST", "/v2/deployments/", try Self.original("assignAlias")).assignAlias(
            "my-alias.vercel.app", deploymentID: "dpl_1", Self.credentials)
        #expect(alias.oldDeploymentId == "dpl_FjvFJncQHQcZMznrUm9EoB8sFuPa")
    }

    @Test func configurationsAreReadWithTheirScopesInVercelsWordsAndWithoutAnId() throws {
        let full = try Self.client("GET", "/v1/integrations/", try Self.original("variants/configuration-scopes"))
            .integrationConfiguration("icfg_1", Self.credentials)
        #expect(full.id == "icfg_1")
        let permissions = try #require(VercelPermission.known(full.scopes))
        #expect(
            permissions.map(\.description) == [
                "read:user", "read-write:project", "read:deployment", "read-write:project-env-vars",
            ])
        #expect(VercelPermission.readProject.isGranted(by: permissions))
        #expect(VercelPermission.readEnv.isGranted(by: permissions))
        #expect(!VercelPermission.writeDeployment.isGranted(by: permissions))
        let anonymous = try Self.client(
            "GET", "/v1/integrations/", try Self.original("variants/configuration-without-id")
        )
        .integrationConfiguration("icfg_1", Self.credentials)
        #expect(
            anonymous.id == nil && VercelPermission.writeDomain.isGranted(by: VercelPermission.known(anonymous.scopes)!)
        )
    }
}
