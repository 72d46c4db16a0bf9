import Foundation
import TestSupport
import Testing
import Vercel

/// Linking platform projects to Vercel projects through nginx, with the frameworks detected from
/// the projects' files.
@Suite struct ProjectLinkTests {
    let client: StackClient
    let fixtures = StackFixtures()
    let projectsRoot: URL

    init() throws {
        client = try StackClient()
        projectsRoot = URL(
            fileURLWithPath: try #require(try TestEnvironment.stackConfiguration()["SHEEN_PROJECTS_ROOT"]))
    }

    func writeFixture(_ project: UUID, dependencies: [String], lockfile: String? = nil) throws {
        let directory = projectsRoot.appendingPathComponent(project.uuidString.lowercased())
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let manifest: [String: Any] = [
            "name": "fixture", "dependencies": Dictionary(uniqueKeysWithValues: dependencies.map { ($0, "^1.0.0") }),
        ]
        try JSONSerialization.data(withJSONObject: manifest).write(to: directory.appendingPathComponent("package.json"))
        if let lockfile { try Data().write(to: directory.appendingPathComponent(lockfile)) }
    }

    @Test func linkingCreatesTheVercelProjectWithTheFrameworkDetectedFromTheFiles() async throws {
        let connected = try await VercelConnectionFixture.connect(fixtures, client)
        let trees: [([String], String?, String, String)] = [
            (["next", "react"], "pnpm-lock.yaml", "nextjs", "pnpm install"),
            (["@remix-run/react", "react"], nil, "remix", "npm install"),
            (["astro"], "yarn.lock", "astro", "yarn install"),
            (["nuxt", "vue"], nil, "nuxtjs", "npm install"),
            (["gatsby", "react"], nil, "gatsby", "npm install"),
            (["react", "vite"], nil, "vite", "npm install"),
        ]
        for (index, (dependencies, lockfile, framework, install)) in trees.enumerated() {
            let project = try fixtures.project(owner: connected.user)
            try writeFixture(project, dependencies: dependencies, lockfile: lockfile)
            let reply = try await client.signed(
                "POST", "/v1/projects/\(project)/vercel/projects/link",
                json: #"{"userId":"\#(connected.user)","createProject":{"name":"detected-\#(index)"}}"#)
            #expect(reply.status == 200, "\(reply.text)")
            #expect(reply.json?["linked"] as? Bool == true && reply.json?["framework"] as? String == framework)
            #expect((reply.json?["webhookUrl"] as? String)?.hasSuffix("/v1/webhooks/vercel") == true)
            let vercelID = try #require(reply.json?["vercelProjectId"] as? String)
            let created = try connected.vercel.project(vercelID, connected.credentials)
            #expect(created.framework == framework && created.installCommand == install && created.buildCommand != nil)
        }
    }

    @Test func anExistingProjectIsLinkedOnceShowsItsMappingAndUnlinks() async throws {
        let connected = try await VercelConnectionFixture.connect(fixtures, client)
        let vercelProject = try connected.vercel.createProject(
            VercelProjectSettings(name: "existing", framework: "vite"), connected.credentials)
        let project = try fixtures.project(owner: connected.user)
        let link =
            #"{"userId":"\#(connected.user)","vercelProjectId":"\#(vercelProject.id)","deploymentBranchPatterns":["main","release/*"],"environmentTargets":["production"],"autoDeployEnabled":false}"#
        let linked = try await client.signed("POST", "/v1/projects/\(project)/vercel/projects/link", json: link)
        #expect(linked.status == 200 && linked.json?["framework"] as? String == "vite")

        let detail = try await client.signed(
            "GET", "/v1/projects/\(project)/vercel/projects/\(vercelProject.id)?userId=\(connected.user)")
        let mapping = try #require(detail.json?["mapping"] as? [String: Any])
        #expect(mapping["id"] as? String == (linked.json?["mappingId"] as? String))
        let stored = try fixtures.db.query("SELECT id FROM vercel_project_mappings WHERE project_id = \(project)")
            .first?["id"]
        #expect(
            stored != nil && linked.json?["mappingId"] as? String == stored,
            "ids are lowercase, as Postgres writes them")
        #expect(mapping["deploymentBranchPatterns"] as? [String] == ["main", "release/*"])
        #expect(
            mapping["environmentTargets"] as? [String] == ["production"]
                && mapping["autoDeployEnabled"] as? Bool == false)

        let again = try await client.signed("POST", "/v1/projects/\(project)/vercel/projects/link", json: link)
        #expect(again.status == 409 && again.code == "PROJECT_ALREADY_LINKED")
        let other = try fixtures.project(owner: connected.user)
        let twice = try await client.signed(
            "POST", "/v1/projects/\(other)/vercel/projects/link",
            json: #"{"userId":"\#(connected.user)","vercelProjectId":"\#(vercelProject.id)"}"#)
        #expect(twice.status == 409 && twice.code == "VERCEL_PROJECT_ALREADY_LINKED")
        let bad = try await client.signed(
            "POST", "/v1/projects/\(other)/vercel/projects/link",
            json: #"{"userId":"\#(connected.user)","vercelProjectId":"x","environmentTargets":["staging"]}"#)
        #expect(bad.status == 400 && bad.code == "INVALID_ENVIRONMENT_TARGETS")

        let unlinked = try await client.signed(
            "POST", "/v1/projects/\(project)/vercel/projects/unlink", json: #"{"userId":"\#(connected.user)"}"#)
        #expect(unlinked.status == 200 && unlinked.json?["unlinked"] as? Bool == true)
        let gone = try await client.signed(
            "POST", "/v1/projects/\(project)/vercel/projects/unlink", json: #"{"userId":"\#(connected.user)"}"#)
        #expect(gone.status == 404 && gone.code == "PROJECT_NOT_LINKED")
    }
}
