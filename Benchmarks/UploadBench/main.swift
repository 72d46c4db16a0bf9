import Foundation
import Kernel
import Logging
import Vercel

// upload-bench SIMULATOR_URL [FILES]: deploys a project of FILES files (default 5,000, 1-4 KiB
// each) to the simulator, then redeploys it with one file changed, and prints both.

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: upload-bench SIMULATOR_URL [FILES]\n".utf8))
    exit(64)
}
let simulator = arguments[1]
let count = arguments.count > 2 ? Int(arguments[2]) ?? 5000 : 5000

let transport = CurlTransport()
let created = try transport.send(
    HTTPRequest(
        method: "POST", url: simulator + "/_sim/accounts", headers: [("Content-Type", "application/json")],
        body: Array(#"{"username":"bench"}"#.utf8)))
struct Account: Decodable { let token: String }
let token = try JSONDecoder().decode(Account.self, from: Data(created.body)).token

@MainActor func project(changing changed: Int?) -> [DeploymentFile] {
    (0..<count).map { index in
        let size = 1024 + (index * 7919) % 3072
        var bytes = Array(repeating: UInt8(truncatingIfNeeded: index), count: size)
        bytes.replaceSubrange(0..<8, with: withUnsafeBytes(of: UInt64(index).bigEndian, Array.init))
        if index == changed { bytes[size - 1] ^= 0xff }
        return DeploymentFile(path: "site/page-\(index).html", bytes: bytes)
    }
}

LoggingSystem.bootstrap { _ in SwiftLogNoOpLogHandler() }
let client = VercelClient(
    configuration: .init(apiBaseURL: simulator), transport: transport, breakers: nil, logger: Logger(label: "bench"))
let credentials = VercelClient.Credentials(accessToken: token)
let request = VercelDeploymentRequest(name: "bench-site")

@MainActor func timed(_ files: [DeploymentFile]) throws -> (seconds: Double, report: UploadReport) {
    let start = ContinuousClock.now
    let (_, report) = try client.deployFiles(files, as: request, credentials, parallelism: 8)
    let elapsed = ContinuousClock.now - start
    return (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18, report)
}

let first = try timed(project(changing: nil))
let second = try timed(project(changing: count / 2))
print(
    String(
        format: "  first deploy   %6d files  %9d bytes uploaded  %7.3f s", first.report.filesUploaded,
        first.report.bytesUploaded, first.seconds))
print(
    String(
        format: "  redeploy       %6d files  %9d bytes uploaded  %7.3f s", second.report.filesUploaded,
        second.report.bytesUploaded, second.seconds))
print(
    String(
        format: "  redeploy/first time ratio = %.3f (target < 0.10); files uploaded on redeploy = %d (target 1)",
        second.seconds / first.seconds, second.report.filesUploaded))
