import FastCGI
import Foundation
import Logging
import Platform
import PlatformHost
import Testing
import Vercel

@Suite struct VercelErrorMappingTests {
    static let table: [(VercelError, Int, String)] = [
        (.unauthorized(status: 401, message: "expired"), 401, "AUTH_REQUIRED"),
        (.unauthorized(status: 403, message: "Not authorized"), 401, "AUTH_REQUIRED"),
        (.rateLimited(retryAfter: .milliseconds(1500)), 429, "RATE_LIMITED"),
        (.circuitOpen(retryAfter: .seconds(30)), 503, "CIRCUIT_OPEN"),
        (.unreachable(.timedOut), 504, "VERCEL_TIMEOUT"),
        (.unreachable(.connectFailed("refused")), 502, "VERCEL_UNREACHABLE"),
        (.api(status: 404, code: "not_found", message: "Project not found"), 404, "VERCEL_NOT_FOUND"),
        (.api(status: 409, code: "conflict", message: "Project already exists"), 409, "VERCEL_CONFLICT"),
        (.api(status: 400, code: "bad_request", message: "Invalid request"), 422, "VERCEL_REJECTED"),
        (.api(status: 500, code: "internal_server_error", message: "oops"), 502, "VERCEL_ERROR"),
    ]

    @Test(arguments: 0..<table.count)
    func eachFailureHasTheStatusAndCodeTheFrontendHandles(index: Int) {
        let (error, status, code) = Self.table[index]
        #expect(error.status == status && error.code == code)
    }

    @Test func throughTheApplicationRateLimitsAndOpenCircuitsCarryRetryAfter() throws {
        var router = Router<Void>()
        router.add("GET", "/limited") { _, _ in throw VercelError.rateLimited(retryAfter: .milliseconds(1500)) }
        router.add("GET", "/open") { _, _ in throw VercelError.circuitOpen(retryAfter: .seconds(30)) }
        router.add("GET", "/auth") { _, _ in throw VercelError.unauthorized(status: 401, message: "expired") }
        router.add("GET", "/vercel") { _, _ in
            throw VercelError.api(status: 409, code: "conflict", message: "Project already exists")
        }
        let application = HTTPApplication(router: router, context: (), logger: Logger(label: "test"))
        func body(_ path: String) throws -> (Response, [String: Any]) {
            let response = application.respond(to: Request(method: "GET", path: path, requestID: "r"))
            guard case .bytes(let bytes) = response.body else { throw VercelError.invalidResponse("stream") }
            return (response, try JSONSerialization.jsonObject(with: Data(bytes)) as! [String: Any])
        }
        let (limited, limitedBody) = try body("/limited")
        #expect(
            limited.status == 429 && limitedBody["retryAfter"] as? Int == 2
                && limited.headers.contains { $0 == ("Retry-After", "2") })
        let (open, openBody) = try body("/open")
        #expect(
            open.status == 503 && openBody["code"] as? String == "CIRCUIT_OPEN" && openBody["retryAfter"] as? Int == 30)
        let (_, authBody) = try body("/auth")
        #expect(authBody["code"] as? String == "AUTH_REQUIRED" && authBody["action"] as? String == "RECONNECT")
        let (_, vercelBody) = try body("/vercel")
        #expect(
            vercelBody["vercelCode"] as? String == "conflict"
                && vercelBody["error"] as? String == "Project already exists")
    }
}
