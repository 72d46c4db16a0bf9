import Kernel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One line of a deployment's runtime logs, as `GET /v1/projects/{projectId}/deployments/{id}/runtime-logs`
/// streams them (JSON lines, `application/stream+json`; Vercel's SDK, `getruntimelogsop.ts`).
public struct VercelRuntimeLog: Codable, Sendable, Equatable {
    /// trace, debug, info, warning, error or fatal.
    public let level: String
    public let message: String
    public let rowId: String
    /// delimiter, edge-function, edge-middleware, serverless or request.
    public let source: String
    public let timestampInMs: Int64
    public let domain: String
    public let messageTruncated: Bool
    public let requestMethod: String
    public let requestPath: String
    public let responseStatusCode: Int

    public init(
        level: String, message: String, rowId: String, source: String, timestampInMs: Int64, domain: String,
        messageTruncated: Bool, requestMethod: String, requestPath: String, responseStatusCode: Int
    ) {
        self.level = level
        self.message = message
        self.rowId = rowId
        self.source = source
        self.timestampInMs = timestampInMs
        self.domain = domain
        self.messageTruncated = messageTruncated
        self.requestMethod = requestMethod
        self.requestPath = requestPath
        self.responseStatusCode = responseStatusCode
    }

    /// The levels in order of severity.
    public static let levels = ["trace", "debug", "info", "warning", "error", "fatal"]

    /// How severe the line is: its level's place in `levels` (0 for a level Vercel adds later).
    public var severity: Int { Self.levels.firstIndex(of: level) ?? 0 }

    /// An error worth showing: logged as error or fatal, or answered 5xx.
    public var isError: Bool { severity >= 4 || (500..<600).contains(responseStatusCode) }
}

extension VercelClient {
    /// Follows a deployment's runtime logs from now: each line is passed to `onLog` until Vercel
    /// ends the stream (after five minutes at most) or `onLog` or `onTick` (about once a second)
    /// returns false. Lines that are not a runtime log are skipped.
    public func runtimeLogs(
        projectID: String, deploymentID: String, _ credentials: Credentials, onTick: () -> Bool = { true },
        onLog: (VercelRuntimeLog) -> Bool
    ) throws(VercelError) {
        var pending: [UInt8] = []
        let decoder = JSONDecoder()
        try stream(
            Endpoint(
                "GET", "/v1/projects/\(projectID)/deployments/\(deploymentID)/runtime-logs",
                headers: [("Accept", "application/stream+json")]),
            credentials: credentials, onTick: onTick
        ) { piece in
            pending += piece
            while let newline = pending.firstIndex(of: 0x0a) {
                let line = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                guard let log = try? decoder.decode(VercelRuntimeLog.self, from: Data(line)) else { continue }
                if !onLog(log) { return false }
            }
            // A line longer than a megabyte is no log line: the stream is given up.
            return pending.count <= 1 << 20
        }
    }
}
