import Foundation
import Kernel
import Logging
import TestSupport
import Testing
import Vercel

@Suite struct DeploymentClientTests {
    static func client() throws -> VercelClient {
        VercelClient(
            configuration: .init(
                apiBaseURL: try TestEnvironment.require("TEST_SIMULATOR_URL"),
                retry: RetryPolicy(baseDelay: .milliseconds(20))),
            transport: CurlTransport(), breakers: nil, logger: Logger(label: "test"))
    }

    static func files(_ count: Int, changing changed: Int? = nil) -> [DeploymentFile] {
        (0..<count).map { index in
            let text = index == changed ? "changed content of file \(index)\n" : "content of file \(index)\n"
            return DeploymentFile(path: "src/file-\(index).js", bytes: Array(text.utf8))
        }
    }

    /// Polls until the deployment stops changing state, recording each state seen. The polling runs
    /// on a thread of its own: the test pool's two threads may be blocked by other suites' calls.
    static func follow(
        _ id: String, _ client: VercelClient, _ credentials: VercelClient.Credentials
    ) async throws -> (VercelDeployment, [String]) {
        struct NeverFinished: Error {}
        let token = credentials.accessToken
        let url = client.configuration.apiBaseURL
        let outcome: Result<(VercelDeployment, [String]), any Error> = await withCheckedContinuation { continuation in
            Thread {
                let poller = VercelClient(
                    configuration: .init(apiBaseURL: url), transport: CurlTransport(), breakers: nil,
                    logger: Logger(label: "test"))
                var seen: [String] = []
                for _ in 0..<2000 {
                    do {
                        let deployment = try poller.deployment(id, VercelClient.Credentials(accessToken: token))
                        if seen.last != deployment.readyState { seen.append(deployment.readyState) }
                        if deployment.isBuildOver {
                            return continuation.resume(returning: .success((deployment, seen)))
                        }
                    } catch {
                        return continuation.resume(returning: .failure(error))
                    }
                    usleep(10_000)
                }
                continuation.resume(returning: .failure(NeverFinished()))
            }.start()
        }
        return try outcome.get()
    }

    @Test func a1500FileDeploymentUploadsEveryFileAndARedeployOnlyTheChangedOne() async throws {
        let account = try await SimulatorAccount.create()
        let client = try Self.client()
        let credentials = VercelClient.Credentials(accessToken: account.token)
        let request = VercelDeploymentRequest(name: "big-site", meta: ["source": "disk"])

        let first = try client.deployFiles(Self.files(1500), as: request, credentials)
        #expect(first.report.filesUploaded == 1500)
        #expect(first.deployment.readyState == "QUEUED")
        #expect(try await account.requests()["POST /v2/files"] == 1500)

        let second = try client.deployFiles(Self.files(1500, changing: 742), as: request, credentials)
        #expect(second.report.filesUploaded == 1)
        #expect(second.report.bytesUploaded == "changed content of file 742\n".utf8.count)
        #expect(try await account.requests()["POST /v2/files"] == 1501)
        #expect(try await account.requests()["POST /v13/deployments"] == 4)
        #expect(second.deployment.projectId == first.deployment.projectId)
        #expect(try await Self.follow(second.deployment.id, client, credentials).0.readyState == "READY")
    }

    @Test func aGitDeploymentGoesThroughEveryStateToReady() async throws {
        let account = try await SimulatorAccount.create()
        try await account.setFaults(["buildMs": 1500])
        let client = try Self.client()
        let credentials = VercelClient.Credentials(accessToken: account.token)
        let project = try client.createProject(VercelProjectSettings(name: "git-app"), credentials)
        let created = try client.createDeployment(
            VercelDeploymentRequest(
                name: "git-app", project: project.id, target: "production",
                gitSource: .github(
                    org: "acme", repo: "git-app", ref: "main", sha: "0123456789abcdef0123456789abcdef01234567")),
            credentials)
        #expect(created.readyState == "QUEUED" && created.target == "production" && created.projectId == project.id)
        let (ready, states) = try await Self.follow(created.id, client, credentials)
        // Every state seen comes later in the lifecycle than the one before, from QUEUED to READY.
        let lifecycle = ["QUEUED", "INITIALIZING", "BUILDING", "READY"]
        let positions = states.compactMap { lifecycle.firstIndex(of: $0) }
        #expect(
            positions.count == states.count && positions == positions.sorted()
                && Set(positions).count == positions.count)
        #expect(states.first == "QUEUED" && states.last == "READY" && states.count >= 3, "\(states)")
        #expect(ready.ready != nil && ready.alias == ["git-app.vercel.app"])
        #expect(try client.deployment(ready.url, credentials).id == ready.id)
    }

    @Test func aFailingBuildEndsInErrorWithItsCodeAndStep() async throws {
        let account = try await SimulatorAccount.create()
        try await account.setFaults(["buildMs": 200, "failBuilds": 1])
        let client = try Self.client()
        let credentials = VercelClient.Credentials(accessToken: account.token)
        let created = try client.createDeployment(
            VercelDeploymentRequest(name: "broken", gitSource: .gitlab(projectId: 42, ref: "feature/x", sha: nil)),
            credentials)
        let (failed, states) = try await Self.follow(created.id, client, credentials)
        #expect(states.last == "ERROR")
        #expect(failed.errorCode == "BUILD_FAILED" && failed.errorStep == "BUILD" && failed.errorMessage != nil)
    }

    @Test func listingFiltersByProjectAndTargetAndPagesWithTheCursor() async throws {
        let account = try await SimulatorAccount.create()
        let client = try Self.client()
        let credentials = VercelClient.Credentials(accessToken: account.token)
        let project = try client.createProject(VercelProjectSettings(name: "listed"), credentials)
        var ids: Set<String> = []
        for index in 0..<7 {
            ids.insert(
                try client.createDeployment(
                    VercelDeploymentRequest(
                        name: "listed", project: project.id, target: index % 2 == 0 ? "production" : nil,
                        gitSource: .bitbucket(owner: "acme", slug: "listed", ref: "main", sha: nil)),
                    credentials
                ).id)
        }
        _ = try client.createDeployment(
            VercelDeploymentRequest(name: "other", gitSource: .githubRepoID(repoId: 7, ref: "main", sha: nil)),
            credentials)
        var seen: [String] = []
        var cursor: VercelCursor? = nil
        repeat {
            let page = try client.deployments(projectID: project.id, credentials, limit: 3, until: cursor)
            seen += page.items.map(\.uid)
            cursor = page.next
        } while cursor != nil && seen.count < 20
        #expect(seen.count == 7 && Set(seen) == ids)
        let production = try client.deployments(projectID: project.id, credentials, limit: 20, target: "production")
        #expect(production.items.count == 4 && production.items.allSatisfy { $0.target == "production" })
    }

    @Test func cancelStopsABuildButNotAFinishedDeployment() async throws {
        let account = try await SimulatorAccount.create()
        try await account.setFaults(["buildMs": 5000])
        let client = try Self.client()
        let credentials = VercelClient.Credentials(accessToken: account.token)
        let building = try client.createDeployment(
            VercelDeploymentRequest(name: "slow", gitSource: .github(org: "a", repo: "slow", ref: "main", sha: nil)),
            credentials)
        #expect(try client.cancelDeployment(building.id, credentials).readyState == "CANCELED")
        #expect(try client.deployment(building.id, credentials).readyState == "CANCELED")

        try await account.setFaults(["buildMs": 50])
        let quick = try client.createDeployment(
            VercelDeploymentRequest(name: "quick", gitSource: .github(org: "a", repo: "quick", ref: "main", sha: nil)),
            credentials)
        _ = try await Self.follow(quick.id, client, credentials)
        #expect(
            throws: VercelError.api(
                status: 400, code: "bad_request", message: "Cannot cancel a deployment that is READY")
        ) {
            try client.cancelDeployment(quick.id, credentials)
        }
    }

    @Test func anUploadWhoseDigestDoesNotMatchIsRefused() async throws {
        let account = try await SimulatorAccount.create()
        let client = try Self.client()
        #expect(
            throws: VercelError.api(
                status: 400, code: "invalid_digest", message: "The file's SHA1 does not match `x-vercel-digest`")
        ) {
            try client.uploadFile(
                Array("abc".utf8), sha: String(repeating: "0", count: 40),
                VercelClient.Credentials(accessToken: account.token))
        }
    }
}
