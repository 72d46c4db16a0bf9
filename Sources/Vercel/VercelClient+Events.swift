import Kernel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One build event of `GET /v3/deployments/{id}/events`, flat as Vercel sends it today
/// (`{created, date, deploymentId, id, info{type, name, entrypoint, path, step, readyState},
/// serial, text, type, level}`) or read from the older wrapped form `{type, created, payload{...}}`.
/// Types: command, stdout, stderr, exit, deployment-state, delimiter, fatal, alias-assigned, and
/// more that are kept as sent. An item without `created` that is not `alias-assigned` is a keepalive.
public struct VercelBuildEvent: Codable, Sendable, Equatable {
    public let type: String
    public let created: Int64?
    public let date: Int64?
    public let deploymentId: String?
    public let id: String?
    /// Vercel's order of the event (a string, compared as sent).
    public let serial: String?
    public let text: String?
    /// `error` or `warning` when Vercel marks the line.
    public let level: String?
    public let info: Info?

    public struct Info: Codable, Sendable, Equatable {
        public let type: String?
        public let name: String?
        public let entrypoint: String?
        public let path: String?
        public let step: String?
        public let readyState: String?

        public init(
            type: String? = nil, name: String? = nil, entrypoint: String? = nil, path: String? = nil,
            step: String? = nil, readyState: String? = nil
        ) {
            self.type = type
            self.name = name
            self.entrypoint = entrypoint
            self.path = path
            self.step = step
            self.readyState = readyState
        }
    }

    public init(
        type: String, created: Int64?, date: Int64? = nil, deploymentId: String? = nil, id: String? = nil,
        serial: String? = nil, text: String? = nil, level: String? = nil, info: Info? = nil
    ) {
        self.type = type
        self.created = created
        self.date = date
        self.deploymentId = deploymentId
        self.id = id
        self.serial = serial
        self.text = text
        self.level = level
        self.info = info
    }

    /// The deployment's state an event reports (`info.readyState`), if it reports one.
    public var readyState: String? { info?.readyState }

    /// Vercel's keepalive: carries nothing for a reader.
    public var isKeepalive: Bool { created == nil && type != "alias-assigned" }

    /// A `deployment-state` event that reports READY, ERROR or CANCELED.
    public var isBuildEnd: Bool {
        type == "deployment-state" && ["READY", "ERROR", "CANCELED"].contains(readyState ?? "")
    }

    private enum WrappedKeys: String, CodingKey { case payload }

    public init(from decoder: any Decoder) throws {
        let outer = try decoder.container(keyedBy: CodingKeys.self)
        let wrapped = try decoder.container(keyedBy: WrappedKeys.self)
        type = (try? outer.decodeIfPresent(String.self, forKey: .type)) ?? ""
        created = try? outer.milliseconds(.created)
        // The older form keeps the fields under `payload`; the flat one at the top.
        let fields =
            (try? wrapped.decodeNil(forKey: .payload)) == false
            ? try wrapped.nestedContainer(keyedBy: CodingKeys.self, forKey: .payload) : outer
        date = try? fields.milliseconds(.date)
        deploymentId = try? fields.identifier(.deploymentId)
        id = try? fields.identifier(.id)
        serial = try? fields.identifier(.serial)
        text = try? fields.decodeIfPresent(String.self, forKey: .text)
        level =
            (try? fields.decodeIfPresent(String.self, forKey: .level))
            ?? (try? outer.decodeIfPresent(String.self, forKey: .level)) ?? nil
        info = try? fields.decodeIfPresent(Info.self, forKey: .info)
    }
}

extension VercelClient {
    /// The build events of a deployment. With `follow`, they are handed to `onEvent` as they
    /// happen until the deployment finishes or `onEvent` returns false, and `onTick` runs about once
    /// a second meanwhile (false stops); without, the events so far. Keepalives and `null` items are
    /// not handed on; an item that is not a build event is skipped and counted.
    /// One attempt: a stream is not retried (its caller may start again from what it has).
    public func buildEvents(
        deploymentID: String, follow: Bool, _ credentials: Credentials,
        onTick: () -> Bool = { true }, onEvent: (VercelBuildEvent) -> Bool
    ) throws(VercelError) {
        var query = [("limit", "-1")]
        if follow { query.append(("follow", "1")) }
        var pending: [UInt8] = []
        var unread = LossyList<VercelBuildEvent>()
        let decoder = JSONDecoder()
        let path: EndpointPath = "/v3/deployments/\(deploymentID)/events"
        guard follow else {
            let events = try call(
                Endpoint("GET", path, query: query), as: LossyList<VercelBuildEvent>.self, credentials: credentials)
            for event in readable(events, "build_event", credentials) where !event.isKeepalive {
                if !onEvent(event) { return }
            }
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
                guard (try? decoder.decode(Nothing.self, from: Data(line))) == nil else { continue }
                guard let event = try? decoder.decode(VercelBuildEvent.self, from: Data(line)) else {
                    unread.skipped.append((try? decoder.decode(UnreadItem.self, from: Data(line)))?.id ?? "?")
                    continue
                }
                guard !event.isKeepalive else { continue }
                if !onEvent(event) { return false }
            }
            return pending.count <= 1 << 20
        }
        _ = readable(unread, "build_event", credentials)
    }
}

/// JSON's `null`, and nothing else.
private struct Nothing: Decodable {
    init(from decoder: any Decoder) throws {
        guard try decoder.singleValueContainer().decodeNil() else {
            throw DecodingError.typeMismatch(Nothing.self, .init(codingPath: [], debugDescription: "not null"))
        }
    }
}
