import Foundation
import Kernel
import Logging
import Platform
import PlatformHost
import Postgres
import Vercel

// vercel-job-token-refresh (every minute): refreshes the tokens that expire within 10 minutes.
// Each refresh holds its connection's lock, as requests do, so a request refreshing at the same
// moment and this job never both spend one refresh token.
enum TokenRefreshJob {
    static func main() -> Never {
        OneShotJob.run(
            name: "vercel-job-token-refresh", settings: { try ServiceConfiguration.fromEnvironment() },
            work: {
                database, logger, configuration in
                let oauth = VercelOAuth(
                    configuration: configuration.vercel.oauthConfiguration, transport: CurlTransport(), logger: logger)
                let store = ConnectionStore(database: database, keyRing: configuration.keyRing)
                let service = TokenService(database: database, store: store, oauth: oauth, logger: logger)
                let due: [UUID] = try database.query(
                    """
                    SELECT id FROM vercel_connections
                    WHERE status IN ('connected', 'error') AND refresh_token_sealed IS NOT NULL AND refresh_failures < 2
                      AND token_expires_at < now() + interval '10 minutes'
                    ORDER BY token_expires_at LIMIT 500
                    """
                ).map { try $0.decode("id") }
                var refreshed = 0
                var failed = 0
                for id in due {
                    do {
                        _ = try service.refresh(id, unlessFreshFor: 600)
                        refreshed += 1
                    } catch {
                        failed += 1
                    }
                }
                return [
                    "connections.due": .stringConvertible(due.count),
                    "connections.refreshed": .stringConvertible(refreshed),
                    "connections.failed": .stringConvertible(failed),
                ]
            })
    }
}
