import Kernel
import Logging

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Vercel's token endpoints: the integration code exchange (`POST /v2/oauth/access_token`), the
/// OAuth app's token endpoint (authorization code with PKCE, refresh with rotation) and revocation.
/// Codes are single-use and refresh tokens rotate, so nothing here is retried but revocation. The
/// client secret and the tokens never reach a log line or an error.
public final class VercelOAuth {
    public struct Configuration: Sendable {
        public var clientID: String
        public var clientSecret: String
        public var redirectURI: String
        /// `https://api.vercel.com/v2/oauth/access_token`
        public var integrationTokenURL: String
        /// `https://api.vercel.com/login/oauth/token`
        public var tokenURL: String
        /// `https://api.vercel.com/login/oauth/token/revoke`
        public var revokeURL: String
        public var timeout: Duration

        public init(
            clientID: String, clientSecret: String, redirectURI: String, integrationTokenURL: String, tokenURL: String,
            revokeURL: String, timeout: Duration = .seconds(15)
        ) {
            self.clientID = clientID
            self.clientSecret = clientSecret
            self.redirectURI = redirectURI
            self.integrationTokenURL = integrationTokenURL
            self.tokenURL = tokenURL
            self.revokeURL = revokeURL
            self.timeout = timeout
        }
    }

    /// An integration's long-lived token.
    public struct IntegrationToken: Decodable, Sendable {
        public let accessToken: String
        public let installationID: String?
        public let userID: String
        public let teamID: String?

        enum CodingKeys: String, CodingKey {
            case accessToken = "access_token"
            case installationID = "installation_id"
            case userID = "user_id"
            case teamID = "team_id"
        }
    }

    /// An OAuth app's token pair: the access token expires, the refresh token rotates on each use.
    public struct TokenPair: Decodable, Sendable {
        public let accessToken: String
        public let refreshToken: String?
        public let expiresIn: Int?
        public let scope: String?

        enum CodingKeys: String, CodingKey {
            case accessToken = "access_token"
            case refreshToken = "refresh_token"
            case expiresIn = "expires_in"
            case scope
        }
    }

    public let configuration: Configuration
    private let transport: any HTTPTransport
    private let logger: Logger

    public init(configuration: Configuration, transport: any HTTPTransport, logger: Logger) {
        self.configuration = configuration
        self.transport = transport
        self.logger = logger
    }

    /// Exchanges an integration install's code.
    public func exchangeIntegrationCode(_ code: String) throws(VercelError) -> IntegrationToken {
        try post(
            configuration.integrationTokenURL,
            [
                ("client_id", configuration.clientID), ("client_secret", configuration.clientSecret), ("code", code),
                ("redirect_uri", configuration.redirectURI),
            ])
    }

    /// Exchanges an OAuth app's code with the PKCE verifier it was issued for.
    public func exchangeAuthorizationCode(_ code: String, verifier: String) throws(VercelError) -> TokenPair {
        try post(
            configuration.tokenURL,
            [
                ("grant_type", "authorization_code"), ("code", code), ("code_verifier", verifier),
                ("redirect_uri", configuration.redirectURI), ("client_id", configuration.clientID),
                ("client_secret", configuration.clientSecret),
            ])
    }

    /// Spends `refreshToken` for a new pair. The old refresh token is dead afterwards.
    public func refresh(_ refreshToken: String) throws(VercelError) -> TokenPair {
        try post(
            configuration.tokenURL,
            [
                ("grant_type", "refresh_token"), ("refresh_token", refreshToken), ("client_id", configuration.clientID),
                ("client_secret", configuration.clientSecret),
            ])
    }

    /// Revokes an access or refresh token (Basic auth with the client's credentials).
    public func revoke(_ token: String) throws(VercelError) {
        let basic = Data("\(configuration.clientID):\(configuration.clientSecret)".utf8).base64EncodedString()
        var lastError = VercelError.unreachable(.failed("not attempted"))
        for attempt in 1...3 {
            try checkDeadline()
            let outcome = exchange(
                configuration.revokeURL, [("token", token)], extraHeaders: [("Authorization", "Basic \(basic)")])
            switch outcome {
            case .success(let response) where (200..<300).contains(response.status): return
            case .success(let response) where response.status < 500: throw Self.error(response)
            case .success(let response): lastError = Self.error(response)
            case .failure(let error): lastError = .unreachable(error)
            }
            if attempt < 3 { VercelClient.sleep(.milliseconds(200 * attempt)) }
        }
        throw lastError
    }

    /// When the request these calls serve must be answered by; nil for none. No token call starts
    /// past it, but one that has started keeps its own timeout: cutting a refresh short after
    /// Vercel has rotated the pair would lose the connection's tokens.
    public var deadline: ContinuousClock.Instant?

    private func checkDeadline() throws(VercelError) {
        if let deadline, ContinuousClock.now >= deadline { throw .outOfTime }
    }

    private func post<T: Decodable>(_ url: String, _ form: [(String, String)]) throws(VercelError) -> T {
        try checkDeadline()
        switch exchange(url, form, extraHeaders: []) {
        case .failure(let error):
            throw .unreachable(error)
        case .success(let response) where (200..<300).contains(response.status):
            guard let value = try? JSONDecoder().decode(T.self, from: Data(response.body)) else {
                throw .invalidResponse("the token endpoint answered JSON that is not a \(T.self)")
            }
            return value
        case .success(let response):
            throw Self.error(response)
        }
    }

    private func exchange(
        _ url: String, _ form: [(String, String)], extraHeaders: [(String, String)]
    ) -> Result<HTTPResponse, HTTPTransportError> {
        let body = form.map { "\(QueryString.encode($0.0))=\(QueryString.encode($0.1))" }.joined(
            separator: "&")
        let request = HTTPRequest(
            method: "POST", url: url,
            headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")]
                + extraHeaders,
            body: Array(body.utf8), connectTimeout: .seconds(5), totalTimeout: configuration.timeout)
        let started = ContinuousClock.now
        let outcome = Result { () throws(HTTPTransportError) in try transport.send(request) }
        Outbound.record(
            remote: "vercel", endpoint: URLPath.of(url), method: "POST", status: try? outcome.get().status,
            seconds: (ContinuousClock.now - started).seconds)
        var metadata: Logger.Metadata = [
            "oauth.endpoint": "\(URLPath.of(url))",
            "duration.ms": .stringConvertible((ContinuousClock.now - started).milliseconds),
        ]
        if case .success(let response) = outcome { metadata["oauth.status"] = .stringConvertible(response.status) }
        logger.info("vercel oauth call", metadata: metadata)
        return outcome
    }

    /// OAuth's `{"error", "error_description"}`, or Vercel's `{"error": {"code", "message"}}`.
    static func error(_ response: HTTPResponse) -> VercelError {
        struct OAuthBody: Decodable {
            let error: String
            let error_description: String?
        }
        if let body = try? JSONDecoder().decode(OAuthBody.self, from: Data(response.body)) {
            return .api(status: response.status, code: body.error, message: body.error_description ?? body.error)
        }
        return VercelClient.apiError(response)
    }
}

/// The path of a URL, for logs that must not carry query strings.
enum URLPath {
    static func of(_ url: String) -> String {
        let parts = url.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false)
        // "https:", "", "host", "rest?query"
        guard parts.count == 4, parts[0].hasSuffix(":"), parts[1].isEmpty else { return "/" }
        return "/" + String(parts[3].split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
    }
}
