import Foundation
import Kernel
import Logging
import TestSupport
import Vercel

/// A platform user connected to a fresh simulator account through the real flow: signed initiate,
/// the simulator's consent, the callback through nginx, and the platform's confirmation.
struct VercelConnectionFixture {
    let user: UUID
    let account: SimulatorAccount
    let vercel: VercelClient
    let credentials: VercelClient.Credentials

    static func connect(
        _ fixtures: StackFixtures, _ client: StackClient, teams: [String] = []
    ) async throws -> VercelConnectionFixture {
        let user = try fixtures.user()
        let account = try await SimulatorAccount.create(teams: teams)
        return try await connect(user, to: account, client)
    }

    /// Connects `user` to `account` through the real flow; with `team`, to that team of it.
    static func connect(
        _ user: UUID, to account: SimulatorAccount, team: String? = nil, _ client: StackClient
    ) async throws -> VercelConnectionFixture {
        let vercel = VercelClient(
            configuration: .init(apiBaseURL: account.baseURL), transport: CurlTransport(), breakers: nil,
            logger: Logger(label: "t"))
        let credentials = VercelClient.Credentials(accessToken: account.token)
        let username = try vercel.user(credentials).username
        let initiated = try await client.signed(
            "POST", "/v1/internal/vercel/oauth/initiate", json: #"{"userId":"\#(user)"}"#)
        guard var location = initiated.json?["authorizationUrl"] as? String else {
            throw TestEnvironment.Missing(name: "an authorizationUrl")
        }
        location += "&login_hint=\(username)"
        if let team { location += "&team=\(team)" }
        let browser = CurlTransport()
        for _ in 0..<3 {
            let response = try browser.send(HTTPRequest(method: "GET", url: location))
            guard response.status == 302, let next = response.header("location") else { break }
            location = next
            if location.contains("status=confirm") {
                let confirmed = try await client.confirm(location, as: user)
                guard confirmed.status == 200 else {
                    throw TestEnvironment.Missing(name: "a confirmed connection (\(confirmed.text))")
                }
                return VercelConnectionFixture(user: user, account: account, vercel: vercel, credentials: credentials)
            }
        }
        throw TestEnvironment.Missing(name: "a connected redirect (ended at \(location))")
    }
}
