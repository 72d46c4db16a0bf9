import Foundation
import Kernel
import TestSupport
import Testing
import Vercel

/// The simulator's deployment checks, as Vercel's Checks API answers: registered while the build
/// runs, a blocking one holding production (`deployment.succeeded`, the alias, promotion) until it
/// concludes `succeeded`, and a rerun announced with `deployment.check-rerequested`.
@Suite struct SimulatorCheckTests {
    @Test func aBlockingCheckHoldsProductionUntilItSucceeds() async throws {
        let (account, client, credentials, inbox, secret) = try await SimulatorWebhookTests.setUp(buildMs: 60_000)
        let project = try client.createProject(
            VercelProjectSettings(name: "checked-\(UUID().uuidString.prefix(6).lowercased())"), credentials)
        let deployment = try client.createDeployment(
            VercelDeploymentRequest(
                name: project.name, project: project.id, target: "production",
                gitSource: .github(org: "a", repo: "c", ref: "main", sha: nil)), credentials)
        let check = try client.createCheck(
            VercelCheckRequest(name: "Smoke", blocking: true, path: "/", rerequestable: true),
            deploymentID: deployment.id, credentials)
        #expect(check.status == "registered" && check.conclusion == nil && check.blocking == true)
        #expect(try client.checks(deploymentID: deployment.id, credentials).map(\.id) == [check.id])

        _ = try await account.admin("POST", "/_sim/deployments/\(deployment.id)/finish", nil)
        let held = try client.deployment(deployment.id, credentials)
        #expect(held.readyState == "READY" && held.readySubstate == "STAGED" && held.alias == [])
        #expect(held.checksState == "registered" && held.checksConclusion == nil)
        // Built, but not succeeded: the integration's check decides that.
        let built = try await SimulatorWebhookTests.received(account, inbox, secret, count: 2)
        #expect(built.map(\.type) == ["deployment.created", "deployment.ready"])
        #expect(throws: VercelError.self) {
            try client.promote(deploymentID: deployment.id, projectID: project.id, credentials)
        }

        _ = try client.updateCheck(.running, checkID: check.id, deploymentID: deployment.id, credentials)
        let failed = try client.updateCheck(
            .completed("failed"), checkID: check.id, deploymentID: deployment.id, credentials)
        #expect(failed.status == "completed" && failed.conclusion == "failed")
        let stillHeld = try client.deployment(deployment.id, credentials)
        #expect(stillHeld.checksState == "completed" && stillHeld.checksConclusion == "failed")
        #expect(stillHeld.readySubstate == "STAGED")

        try client.rerequestCheck(checkID: check.id, deploymentID: deployment.id, credentials)
        let rerun = try await SimulatorWebhookTests.received(account, inbox, secret, count: 3)
        #expect(rerun.last?.type == "deployment.check-rerequested")
        #expect(try client.checks(deploymentID: deployment.id, credentials).first?.status == "registered")

        _ = try client.updateCheck(
            .completed("succeeded"), checkID: check.id, deploymentID: deployment.id, credentials)
        let passed = try client.deployment(deployment.id, credentials)
        #expect(passed.checksConclusion == "succeeded" && passed.readySubstate == "PROMOTED")
        #expect(passed.alias == [project.name + ".vercel.app"])
        let all = try await SimulatorWebhookTests.received(account, inbox, secret, count: 4)
        #expect(all.last?.type == "deployment.succeeded")
        try client.promote(deploymentID: deployment.id, projectID: project.id, credentials)
    }

    @Test func aCheckIsRefusedOnAFinishedDeploymentAndWhenMalformed() async throws {
        let (account, client, credentials, _, _) = try await SimulatorWebhookTests.setUp(buildMs: 60_000)
        let deployment = try client.createDeployment(
            VercelDeploymentRequest(name: "late", gitSource: .github(org: "a", repo: "l", ref: "main", sha: nil)),
            credentials)
        #expect(throws: VercelError.self) {
            try client.createCheck(
                VercelCheckRequest(name: String(repeating: "n", count: 101), blocking: true),
                deploymentID: deployment.id, credentials)
        }
        let check = try client.createCheck(
            VercelCheckRequest(name: "Smoke", blocking: false), deploymentID: deployment.id, credentials)
        // A completed check needs its conclusion; a non-rerequestable one cannot be rerun.
        #expect(throws: VercelError.self) {
            try client.updateCheck(
                VercelCheckUpdate(status: "completed"), checkID: check.id, deploymentID: deployment.id, credentials)
        }
        #expect(throws: VercelError.self) {
            try client.rerequestCheck(checkID: check.id, deploymentID: deployment.id, credentials)
        }
        _ = try await account.admin("POST", "/_sim/deployments/\(deployment.id)/finish", nil)
        do {
            _ = try client.createCheck(
                VercelCheckRequest(name: "Too late", blocking: true), deploymentID: deployment.id, credentials)
            Issue.record("a check was registered on a finished deployment")
        } catch .api(let status, _, let message) {
            #expect(status == 400 && message == "Cannot create check for finished deployment")
        }
        // A non-blocking check never held the build's end back.
        #expect(try client.deployment(deployment.id, credentials).checksState == "registered")
    }
}
