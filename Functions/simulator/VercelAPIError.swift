import FastCGI
import Kernel

/// Vercel's error body, `{"error": {"code", "message", ...}}`, with its status.
struct VercelAPIError: Error {
    let status: Int
    let code: String
    let message: String
    var extra: [String: JSONValue] = [:]
    var headers: [(String, String)] = []

    var response: Response {
        var fields = extra
        fields["code"] = .string(code)
        fields["message"] = .string(message)
        var response = Response.json(JSONValue.object(["error": .object(fields)]), status: status)
        response.headers += headers
        return response
    }

    static let invalidToken = VercelAPIError(
        status: 403, code: "forbidden", message: "Not authorized", extra: ["invalidToken": true])
    static func notFound(_ message: String) -> VercelAPIError {
        VercelAPIError(status: 404, code: "not_found", message: message)
    }
    static func badRequest(_ message: String) -> VercelAPIError {
        VercelAPIError(status: 400, code: "bad_request", message: message)
    }
}
