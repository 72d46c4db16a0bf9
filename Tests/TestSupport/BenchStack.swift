import Crypto
import Foundation
import Kernel
import Logging
import Postgres
import Vercel

/// What a benchmark run against the bench stack starts from: the stack's configuration (its env
/// file), the key ring and the platform's signing secret in it, a connection to its database, and a
/// client of its simulator.
public struct BenchStack {
    public let environment: [String: String]
    public let ring: KeyRing
    public let secret: String
    public let database: PostgresConnection
    public let transport: CurlTransport
    public let client: VercelClient

    public init(
        envFile: String, databaseURL: String, simulator: String, statementTimeout: Duration = .seconds(60)
    )
        throws
    {
        var environment: [String: String] = [:]
        for line in try String(contentsOfFile: envFile, encoding: .utf8).split(separator: "\n")
        where !line.hasPrefix("#") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { environment[parts[0]] = parts[1] }
        }
        self.environment = environment
        ring = try KeyRing(parsing: environment["TOKEN_ENCRYPTION_KEYS"] ?? "")
        secret = environment["SHEEN_HMAC_SECRET"] ?? ""
        database = PostgresConnection(.init(url: databaseURL, statementTimeout: statementTimeout))
        transport = CurlTransport()
        client = VercelClient(
            configuration: .init(apiBaseURL: simulator), transport: transport, breakers: nil,
            logger: Logger(label: "bench"))
    }
}
