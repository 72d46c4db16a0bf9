import FastCGI
import Foundation

/// The signed-in caller of a simulated API call, and whose resources it acts on.
struct SimulatedCaller {
    /// The account's control token (see `controlTokens`), not necessarily the one the call carried.
    let token: String
    let account: SimulatorState.Account
    /// The team of `?teamId=`, or the user for personal resources.
    let ownerID: String
}

extension Router where Context == SimulatorState {
    typealias APIHandler = @Sendable (Request, SimulatorState, SimulatedCaller) throws -> Response

    /// A route of Vercel's API: counted, subject to the fault knobs, authenticated by bearer token
    /// (and `teamId` membership), answering errors in Vercel's shape.
    mutating func api(_ method: String, _ pattern: String, _ handler: @escaping APIHandler) {
        add(method, pattern, bodyLimit: 8 << 20) { request, state in
            do {
                let bearer = try Self.token(of: request)
                // An OAuth-issued token acts under its account's knobs and counts.
                let token = state.with { data in
                    data.accounts[bearer].flatMap { data.controlTokens[$0.user.id] } ?? bearer
                }
                let faults = state.with { data -> SimulatorState.Faults in
                    data.requests[token, default: [:]]["\(method) \(pattern)", default: 0] += 1
                    let current = data.faults[token] ?? SimulatorState.Faults()
                    if current.rateLimited > 0 {
                        data.faults[token]?.rateLimited -= 1
                    } else if current.serverErrors > 0 {
                        data.faults[token]?.serverErrors -= 1
                    } else if current.forbidden > 0 {
                        data.faults[token]?.forbidden -= 1
                    }
                    return current
                }
                if faults.latencyMs > 0 { usleep(useconds_t(faults.latencyMs * 1000)) }
                if faults.rateLimited > 0 { throw Self.rateLimited(retryAfter: faults.retryAfterSeconds) }
                if faults.rateLimited == 0, faults.serverErrors == 0, faults.forbidden > 0 {
                    throw VercelAPIError(
                        status: 403, code: "forbidden", message: "You don't have permission to access this resource")
                }
                if faults.serverErrors > 0 {
                    throw VercelAPIError(
                        status: faults.serverErrorStatus, code: "internal_server_error",
                        message: "An unexpected error occurred")
                }
                return try handler(request, state, try Self.caller(of: request, token: bearer, control: token, state))
            } catch let error as VercelAPIError {
                return error.response
            }
        }
    }

    static func token(of request: Request) throws -> String {
        guard let authorization = request.headers["authorization"], authorization.hasPrefix("Bearer "),
            authorization.count > 7
        else {
            throw VercelAPIError.invalidToken
        }
        return String(authorization.dropFirst(7))
    }

    private static func caller(
        of request: Request, token: String, control: String, _ state: SimulatorState
    ) throws -> SimulatedCaller {
        let (account, expiry) = state.with { ($0.accounts[token], $0.tokenExpiry[token]) }
        guard let account else { throw VercelAPIError.invalidToken }
        if let expiry, expiry <= state.now() {
            throw VercelAPIError(
                status: 401, code: "unauthorized", message: "The token has expired", extra: ["invalidToken": true])
        }
        guard let teamID = request.query("teamId"), !teamID.isEmpty else {
            return SimulatedCaller(token: control, account: account, ownerID: account.user.id)
        }
        guard account.teams.contains(where: { $0.id == teamID }) else {
            throw VercelAPIError(
                status: 403, code: "forbidden", message: "You don't have permission to access this team")
        }
        return SimulatedCaller(token: control, account: account, ownerID: teamID)
    }

    static func rateLimited(retryAfter: Int) -> VercelAPIError {
        let reset = Int64(Date().timeIntervalSince1970) + Int64(retryAfter)
        return VercelAPIError(
            status: 429, code: "rate_limited", message: "Rate limit exceeded",
            extra: [
                "limit": .object([
                    "remaining": 0, "reset": .integer(Int(reset)), "resetMs": .integer(Int(reset * 1000)), "total": 100,
                ])
            ],
            headers: [
                ("Retry-After", "\(retryAfter)"), ("X-RateLimit-Limit", "100"), ("X-RateLimit-Remaining", "0"),
                ("X-RateLimit-Reset", "\(reset)"),
            ])
    }
}

extension Request {
    /// The JSON body as `T`, or Vercel's 400.
    func vercelBody<T: Decodable>(_ type: T.Type) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(body))
        } catch {
            throw VercelAPIError.badRequest("Invalid request: the body is not valid JSON for this endpoint")
        }
    }
}
