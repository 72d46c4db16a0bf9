import Crypto
import DeploymentsGroup
import Foundation
import Kernel
import Platform
import PlatformHost
import Synchronization
import Testing

/// A deploy from the project's files, in process: the upload threads reach Vercel through the
/// group's own transport, so a scripted Vercel sees every file it asked for.
@Suite struct FileDeployRouteTests {
    @Test func aDeployFromFilesUploadsWhatVercelLacksThroughTheGroupsTransport() throws {
        let root = NSTemporaryDirectory() + "sheen-files-" + UUID().uuidString
        let harness = try GroupHarness(DeploymentsGroup.group, settings: ["SHEEN_PROJECTS_ROOT": root])
        defer {
            harness.drop()
            try? FileManager.default.removeItem(atPath: root)
        }
        let user = try harness.user()
        let project = try harness.project(of: user)
        try harness.link(project, connection: try harness.connect(user))
        let folder = root + "/" + project.uuidString.lowercased()
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let page = Array("<h1>from files</h1>".utf8)
        try Data(page).write(to: URL(fileURLWithPath: folder + "/index.html"))
        let sha = Hex.encode(Digest.sha1(page))

        let uploads = Mutex<[String]>([])
        harness.vercel.on("POST", "/v2/files") { request in
            uploads.withLock { $0.append(request.headers.first { $0.0 == "x-vercel-digest" }?.1 ?? "") }
            return HTTPResponse(status: 200, body: Array("{}".utf8))
        }
        harness.vercel.on("POST", "/v13/deployments") { _ in
            guard uploads.withLock({ $0.isEmpty }) else {
                return HTTPResponse(status: 200, body: Array(VercelJSON.deployment("dpl_files", state: "QUEUED").utf8))
            }
            return HTTPResponse(
                status: 400,
                body: Array(#"{"error":{"code":"missing_files","message":"Missing files","missing":["\#(sha)"]}}"#.utf8)
            )
        }
        let answer = try harness.call(
            "POST", "/v1/projects/\(project.uuidString.lowercased())/vercel/deploy", as: user,
            json: ["deploymentType": "preview"])
        #expect(answer.status == 202, "\(answer.text)")
        #expect((answer.json["deployment"] as? [String: Any])?["id"] as? String == "dpl_files")
        #expect(uploads.withLock { $0 } == [sha])
        #expect(harness.vercel.sent.filter { $0 == "POST /v13/deployments" }.count == 2)
    }
}
