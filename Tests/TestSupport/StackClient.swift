import Crypto
import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Calls the running stack through nginx, signing as the platform's backend does. The signature is
/// built here from DESIGN.md's rule, independently of the service's verifier.
public struct StackClient: Sendable {
    public let baseURL: String
    public let secret: String

    public init() throws {
        baseURL = try TestEnvironment.require("TEST_BASE_URL")
        guard let secret = try TestEnvironment.stackConfiguration()["SHEEN_HMAC_SECRET"] else {
            throw TestEnvironment.Missing(name: "SHEEN_HMAC_SECRET in test.env")
        }
        self.secret = secret
    }

    public struct Reply: Sendable {
        public let status: Int
        public let headers: [String: String]
        public let body: Data

        public var text: String { String(decoding: body, as: UTF8.self) }
        public var json: [String: any Sendable]? {
            (try? JSONSerialization.jsonObject(with: body)) as? [String: any Sendable]
        }
        public var code: String? { json?["code"] as? String }
        public var error: String? { json?["error"] as? String }
        public func header(_ name: String) -> String? { headers[name.lowercased()] }
    }

    /// Sends a request as is.
    public func send(
        _ method: String, _ target: String, body: Data? = nil, headers: [String: String] = [:]
    ) async throws -> Reply {
        var request = URLRequest(url: URL(string: baseURL + target)!)
        request.httpMethod = method
        request.httpBody = body
        request.timeoutInterval = 30
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        var lowered: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            if let name = name as? String, let value = value as? String { lowered[name.lowercased()] = value }
        }
        return Reply(status: http.statusCode, headers: lowered, body: data)
    }

    /// The v2 signature headers for a request.
    public func signatureHeaders(
        _ method: String, _ target: String, body: Data = Data(), timestamp: Int64? = nil, nonce: String? = nil,
        secret: String? = nil
    ) -> [String: String] {
        PlatformSigner.headers(
            method, target, body: body, secret: secret ?? self.secret, timestamp: timestamp, nonce: nonce)
    }

    /// Sends a signed request; `body` is JSON.
    public func signed(
        _ method: String, _ target: String, json body: String? = nil, headers extra: [String: String] = [:]
    ) async throws -> Reply {
        let data = body.map { Data($0.utf8) } ?? Data()
        var headers = signatureHeaders(method, target, body: data)
        headers["content-type"] = "application/json"
        headers.merge(extra) { $1 }
        return try await send(method, target, body: body == nil ? nil : data, headers: headers)
    }
}
