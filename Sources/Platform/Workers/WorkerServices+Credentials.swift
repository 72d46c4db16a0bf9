import Logging
import Vercel

extension WorkerServices {
    /// Credentials for calling Vercel with `credential`, its token refreshed once on a 401.
    public func credentials(
        _ credential: ConnectionStore.Credential, logger: Logger
    ) -> VercelClient.Credentials {
        let tokens = self.tokens
        return VercelClient.Credentials(
            accessToken: credential.accessToken, teamID: credential.teamID, connectionID: credential.id,
            breaker: credential.breaker, logger: logger
        ) {
            try tokens.refresh(credential.id).accessToken
        }
    }
}
