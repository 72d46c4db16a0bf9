import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// An account on the running Vercel simulator, with its own fault knobs and request counts.
public struct SimulatorAccount: Sendable {
    public let baseURL: String
    public let token: String
    public let userID: String
    public let teamIDs: [String]

    /// Creates a user with `teams` (slugs) on the simulator; a `person`'s account is offered on
    /// the consent page.
    public static func create(teams: [String] = [], person: Bool = false) async throws -> SimulatorAccount {
        let baseURL = try TestEnvironment.require("TEST_SIMULATOR_URL")
        let body = try JSONSerialization.data(withJSONObject: [
            "username": "user\(UUID().uuidString.prefix(8).lowercased())", "teams": teams, "person": person,
        ])
        let reply = try await send("POST", baseURL + "/_sim/accounts", body: body, token: nil)
        let object = try JSONSerialization.jsonObject(with: reply) as! [String: Any]
        let user = object["user"] as! [String: Any]
        let teamIDs = (object["teams"] as! [[String: Any]]).map { $0["id"] as! String }
        return SimulatorAccount(
            baseURL: baseURL, token: object["token"] as! String, userID: user["id"] as! String, teamIDs: teamIDs)
    }

    /// Sets this account's fault knobs (`rateLimited`, `retryAfterSeconds`, `serverErrors`,
    /// `serverErrorStatus`, `latencyMs`).
    public func setFaults(_ faults: [String: Int]) async throws {
        var all = [
            "rateLimited": 0, "retryAfterSeconds": 1, "serverErrors": 0, "serverErrorStatus": 500, "latencyMs": 0,
        ]
        all.merge(faults) { $1 }
        _ = try await Self.send(
            "PUT", baseURL + "/_sim/faults", body: try JSONSerialization.data(withJSONObject: all), token: token)
    }

    /// Publishes a DNS record the simulator will see (`type` A, CNAME or TXT).
    public func publishDNS(name: String, type: String, value: String) async throws {
        let body = try JSONSerialization.data(withJSONObject: ["name": name, "type": type, "value": value])
        _ = try await Self.send("PUT", baseURL + "/_sim/dns", body: body, token: token)
    }

    /// Calls one of the simulator's `/_sim/` routes as this account, with a JSON body.
    @discardableResult
    public func admin(_ method: String, _ path: String, _ body: [String: Any]?) async throws -> Data {
        try await Self.send(
            method, baseURL + path, body: try body.map { try JSONSerialization.data(withJSONObject: $0) }, token: token)
    }

    /// How many calls this account made to each route (`"GET /v2/user"`).
    public func requests() async throws -> [String: Int] {
        let data = try await Self.send("GET", baseURL + "/_sim/requests", body: nil, token: token)
        return try JSONSerialization.jsonObject(with: data) as? [String: Int] ?? [:]
    }

    public static func send(_ method: String, _ url: String, body: Data?, token: String?) async throws -> Data {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        request.httpBody = body
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        guard let http = response as? HTTPURLResponse, (200..<300).contains(http.statusCode) else {
            throw TestEnvironment.Missing(name: "a 2xx from the simulator for \(method) \(url)")
        }
        return data
    }
}
