#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One build event of `GET /v3/deployments/{id}/events` (types: command, stdout, stderr, exit,
/// deployment-state, delimiter, fatal, ...).
public struct VercelBuildEvent: Codable, Sendable, Equatable {
    public let type: String
    public let created: Int64
    public let payload: Payload

    public struct Payload: Codable, Sendable, Equatable {
        public let id: String?
        public let text: String?
        public let date: Int64?
        public let readyState: String?
    }
}

extension VercelClient {
    /// The build events of a deployment. With `follow`, they are handed to `onEvent` as they
    /// happen until the deployment finishes or `onEvent` returns false, and `onTick` runs about once
    /// a second meanwhile (false stops); without, the events so far.
    /// One attempt: a stream is not retried (its caller may start again from what it has).
    public func buildEvents(
        deploymentID: String, follow: Bool, _ credentials: Credentials,
        onTick: () -> Bool = { true }, onEvent: (VercelBuildEvent) -> Bool
    ) throws(VercelError) {
        var query = [("limit", "-1")]
        if follow { query.append(("follow", "1")) }
        var pending: [UInt8] = []
        var decodingFailed = false
        let decoder = JSONDecoder()
        let path = "/v3/deployments/\(Self.percentEncode(deploymentID))/events"
        guard follow else {
            let events = try call(
                Endpoint("GET", path, query: query), as: [VercelBuildEvent].self, credentials: credentials)
            for event in events where !onEvent(event) { return }
            return
        }
        try stream(
            Endpoint("GET", path, query: query), credentials: credentials, onTick: onTick
        ) { piece in
            pending += piece
            while let newline = pending.firstIndex(of: 0x0a) {
                let line = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                guard !line.allSatisfy({ $0 == 0x20 || $0 == 0x0d }) else { continue }
                guard let event = try? decoder.decode(VercelBuildEvent.self, from: Data(line)) else {
                    decodingFailed = true
                    return false
                }
                if !onEvent(event) { return false }
            }
            return pending.count <= 1 << 20
        }
        if decodingFailed { throw .invalidResponse("GET \(path) streamed a line that is not a build event") }
    }
}
