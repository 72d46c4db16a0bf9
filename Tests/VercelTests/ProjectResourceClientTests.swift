import Foundation
import Kernel
import Logging
import TestSupport
import Testing
import Vercel

/// Env variables, domains, promotion, rollback and aliases through the client and the simulator.
@Suite struct ProjectResourceClientTests {
    static func setUp() async throws -> (SimulatorAccount, VercelClient, VercelClient.Credentials, VercelProject) {
        let account = try await SimulatorAccount.create()
        let client = VercelClient(
            configuration: .init(
                apiBaseURL: try TestEnvironment.require("TEST_SIMULATOR_URL"),
                retry: RetryPolicy(baseDelay: .milliseconds(20))),
            transport: CurlTransport(), breakers: nil, logger: Logger(label: "test"))
        let credentials = VercelClient.Credentials(accessToken: account.token)
        let project = try client.createProject(
            VercelProjectSettings(name: "resources-\(UUID().uuidString.prefix(6).lowercased())"), credentials)
        return (account, client, credentials, project)
    }

    @Test func envVariablesAreCreatedUpsertedListedWithoutSecretsEditedAndDeleted() async throws {
        let (_, client, credentials, project) = try await Self.setUp()
        let result = try client.createEnvVariables(
            [
                VercelNewEnvVariable(
                    key: "API_URL", value: "https://api.example.com", type: "plain", target: ["production", "preview"]),
                VercelNewEnvVariable(key: "API_SECRET", value: "s3cr3t-value", target: ["production"]),
            ], projectID: project.id, credentials)
        #expect(result.created.count == 2 && result.failed.isEmpty)

        let listed = try client.envVariables(projectID: project.id, credentials)
        #expect(Set(listed.map(\.key)) == ["API_URL", "API_SECRET"])
        #expect(listed.first { $0.key == "API_URL" }?.value == "https://api.example.com")
        #expect(listed.first { $0.key == "API_SECRET" }?.value == "")

        // Upsert with the same targets updates; with overlapping targets it conflicts.
        let again = try client.createEnvVariables(
            [
                VercelNewEnvVariable(key: "API_SECRET", value: "rotated", target: ["production"]),
                VercelNewEnvVariable(key: "API_URL", value: "x", type: "plain", target: ["preview"]),
            ], projectID: project.id, credentials)
        #expect(again.created.map(\.key) == ["API_SECRET"])
        #expect(again.failed.map(\.error.code) == ["ENV_CONFLICT"])
        #expect(try client.envVariables(projectID: project.id, credentials).count == 2)

        let plain = try #require(listed.first { $0.key == "API_URL" })
        let plainID = try #require(plain.id)
        let edited = try client.updateEnvVariable(
            id: plainID, projectID: project.id, value: "https://api2.example.com", target: ["preview"], credentials)
        #expect(edited.value == "https://api2.example.com" && edited.target == ["preview"])
        try client.deleteEnvVariable(id: plainID, projectID: project.id, credentials)
        #expect(try client.envVariables(projectID: project.id, credentials).map(\.key) == ["API_SECRET"])
        #expect(throws: VercelError.api(status: 404, code: "not_found", message: "Environment variable not found")) {
            try client.deleteEnvVariable(id: plainID, projectID: project.id, credentials)
        }
    }

    @Test func aDomainIsAddedVerifiedOnceItsTXTRecordExistsConfiguredAndRemoved() async throws {
        let (account, client, credentials, project) = try await Self.setUp()
        let name = "shop-\(UUID().uuidString.prefix(6).lowercased()).example.com"
        let added = try client.addDomain(name, projectID: project.id, credentials)
        #expect(!added.verified && added.apexName == String(name.split(separator: ".", maxSplits: 1)[1]))
        let record = try #require(added.verification?.first)
        #expect(
            record.type == "TXT" && record.domain == "_vercel.\(added.apexName!)"
                && record.value.hasPrefix("vc-domain-verify="))

        #expect(throws: VercelError.self) { try client.verifyDomain(name, projectID: project.id, credentials) }
        try await account.publishDNS(name: record.domain, type: "TXT", value: record.value)
        #expect(try client.verifyDomain(name, projectID: project.id, credentials).verified)
        #expect(try client.domains(projectID: project.id, credentials).map(\.name) == [name])

        let unconfigured = try client.domainConfig(name, projectID: project.id, credentials)
        #expect(unconfigured.misconfigured && unconfigured.configuredBy == nil)
        // The recommended values are ranked; the preferred CNAME is the account's own, not a constant.
        let cname = try #require(unconfigured.preferredCNAME)
        #expect(cname != "cname.vercel-dns.com" && !unconfigured.preferredIPv4.isEmpty)
        try await account.publishDNS(name: name, type: "CNAME", value: cname + ".")
        let config = try client.domainConfig(name, projectID: project.id, credentials)
        #expect(!config.misconfigured && config.configuredBy == "CNAME")
        // A CAA record that does not allow Vercel's certificate authority: pointing, yet misconfigured.
        try await account.publishDNS(name: name, type: "CAA", value: "0 issue \"pki.goog\"")
        let blocked = try client.domainConfig(name, projectID: project.id, credentials)
        #expect(blocked.misconfigured && blocked.configuredBy == "CNAME")

        #expect(
            throws: VercelError.api(
                status: 400, code: "domain_already_exists",
                message: "Cannot add \(name) since it's already assigned to this project.")
        ) {
            try client.addDomain(name, projectID: project.id, credentials)
        }
        let other = try client.createProject(
            VercelProjectSettings(name: "other-\(UUID().uuidString.prefix(6).lowercased())"), credentials)
        #expect(
            throws: VercelError.api(
                status: 409, code: "domain_already_in_use",
                message: "The domain \"\(name)\" is already in use by a project")
        ) {
            try client.addDomain(name, projectID: other.id, credentials)
        }
        #expect(throws: VercelError.self) { try client.addDomain("not a domain", projectID: project.id, credentials) }
        try client.removeDomain(name, projectID: project.id, credentials)
        #expect(try client.domains(projectID: project.id, credentials).isEmpty)
    }

    @Test func promotionAndRollbackMoveProductionAmongReadyDeployments() async throws {
        let (account, client, credentials, project) = try await Self.setUp()
        try await account.setFaults(["buildMs": 100])
        func readyDeployment() async throws -> VercelDeployment {
            let created = try client.createDeployment(
                VercelDeploymentRequest(
                    name: project.name, project: project.id,
                    gitSource: .github(org: "acme", repo: project.name, ref: "main", sha: nil)),
                credentials)
            for _ in 0..<100 {
                let current = try client.deployment(created.id, credentials)
                if current.readyState == "READY" { return current }
                try await Task.sleep(for: .milliseconds(20))
            }
            throw VercelError.invalidResponse("never READY")
        }
        let first = try await readyDeployment()
        let second = try await readyDeployment()

        try client.promote(deploymentID: first.id, projectID: project.id, credentials)
        #expect(try client.productionState(projectID: project.id, credentials).targets?.production?.id == first.id)
        try client.promote(deploymentID: second.id, projectID: project.id, credentials)
        let promoted = try client.productionState(projectID: project.id, credentials)
        #expect(promoted.targets?.production?.id == second.id)
        let request = try #require(promoted.lastAliasRequest)
        #expect(request.fromDeploymentId == first.id && request.toDeploymentId == second.id)
        #expect(request.jobStatus == "succeeded" && request.type == "promote")

        try client.rollback(deploymentID: first.id, projectID: project.id, credentials)
        let rolledBack = try client.productionState(projectID: project.id, credentials)
        #expect(rolledBack.targets?.production?.id == first.id && rolledBack.lastAliasRequest?.type == "rollback")

        try await account.setFaults(["buildMs": 60_000])
        let building = try client.createDeployment(
            VercelDeploymentRequest(
                name: project.name, project: project.id,
                gitSource: .github(org: "acme", repo: project.name, ref: "main", sha: nil)),
            credentials)
        #expect(
            throws: VercelError.api(
                status: 400, code: "deployment_not_ready", message: "Only a READY deployment can be promoted")
        ) {
            try client.promote(deploymentID: building.id, projectID: project.id, credentials)
        }

        let alias = try client.assignAlias("preview-\(project.name).example.com", deploymentID: second.id, credentials)
        #expect(alias.oldDeploymentId == nil)
        let moved = try client.assignAlias("preview-\(project.name).example.com", deploymentID: first.id, credentials)
        #expect(moved.oldDeploymentId == second.id)
    }
}
