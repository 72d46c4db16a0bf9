import Foundation
import Platform
import PlatformHost
import Testing

@Suite struct ServiceConfigurationTests {
    static let complete = [
        "DATABASE_URL": "postgresql://localhost/db",
        "SHEEN_HMAC_SECRET": String(repeating: "s", count: 40),
        "TOKEN_ENCRYPTION_KEYS": "k1:" + String(repeating: "A", count: 43) + "=",
        "VERCEL_OAUTH_CLIENT_ID": "oac_1",
        "VERCEL_OAUTH_CLIENT_SECRET": "client-secret",
        "VERCEL_OAUTH_REDIRECT_URI": "https://service.example/v1/internal/vercel/oauth/callback",
        "SHEEN_OAUTH_SUCCESS_URL": "https://platform.example/connected",
        "SHEEN_OAUTH_FAILURE_URL": "https://platform.example/failed",
    ]

    @Test func aCompleteEnvironmentLoadsWithTheDocumentedDefaults() throws {
        let configuration = try ServiceConfiguration.fromEnvironment(Self.complete)
        #expect(configuration.keyRing.currentKeyID == "k1")
        #expect(!configuration.acceptLegacySignatures && !configuration.faultRoutesEnabled)
        #expect(configuration.statementTimeout == .milliseconds(5000) && configuration.logLevel == .info)
        #expect(
            configuration.vercel.apiBaseURL == "https://api.vercel.com" && configuration.vercel.mode == .integration)
        #expect(configuration.vercel.tokenURL == "https://api.vercel.com/login/oauth/token")
        #expect(configuration.vercel.confirmationRequired)
        #expect(configuration.deployments.maxLogPumps == 64)
        #expect(configuration.deployments.logPublishURL == "http://127.0.0.1:9180/_logs/publish")
        #expect(configuration.deployments.projectsRoot == nil)
        #expect(configuration.webhooks.vercelSecrets == ["client-secret"])
    }

    @Test(arguments: ConfigurationKey.all.filter(\.isRequired).map(\.name))
    func eachRequiredVariableIsNamedWhenMissing(name: String) {
        var environment = Self.complete
        environment[name] = nil
        #expect(throws: ConfigurationError.missing(name)) { try ServiceConfiguration.fromEnvironment(environment) }
    }

    @Test(arguments: [
        ("DATABASE_STATEMENT_TIMEOUT_MS", "50"), ("SHEEN_ACCEPT_V1", "yes"), ("LOG_LEVEL", "loud"),
        ("VERCEL_AUTH_MODE", "magic"),
        ("SHEEN_OAUTH_CONFIRMATION", "maybe"), ("SHEEN_MAX_LOG_PUMPS", "5000"),
        ("SHEEN_LOG_PUBLISH_URL", "127.0.0.1:9180"),
    ])
    func malformedKnobsAreRefusedByName(name: String, value: String) {
        var environment = Self.complete
        environment[name] = value
        #expect {
            try ServiceConfiguration.fromEnvironment(environment)
        } throws: { error in
            guard case .malformed(let named, _) = error as? ConfigurationError else { return false }
            return named == name && !"\(error)".contains(value)
        }
    }

    /// The probes' detour to the simulator lifts the https and public-address rules: a loopback
    /// address only, and never beside Vercel's own API.
    @Test func theProbeDetourIsLoopbackOnlyAndNeverWithVercelsAPI() throws {
        #expect(try ServiceConfiguration.fromEnvironment(Self.complete).deployments.probeVia == nil)
        var environment = Self.complete
        environment["SHEEN_DEPLOYMENT_PROBE_VIA"] = "127.0.0.1:18081"
        #expect(throws: ConfigurationError.self) { try ServiceConfiguration.fromEnvironment(environment) }
        environment["VERCEL_API_BASE_URL"] = "http://127.0.0.1:18081"
        #expect(try ServiceConfiguration.fromEnvironment(environment).deployments.probeVia == "127.0.0.1:18081")
        for elsewhere in ["169.254.169.254:80", "10.0.0.1:8090", "127.0.0.1", "127.0.0.1:0", "evil.example:443"] {
            environment["SHEEN_DEPLOYMENT_PROBE_VIA"] = elsewhere
            #expect(throws: ConfigurationError.self, "\(elsewhere)") {
                try ServiceConfiguration.fromEnvironment(environment)
            }
        }
    }

    @Test func malformedSecretsAreRefusedWithoutEchoingThem() {
        var environment = Self.complete
        environment["TOKEN_ENCRYPTION_KEYS"] = "k1:c2VjcmV0LWtleS1tYXRlcmlhbA"
        do {
            _ = try ServiceConfiguration.fromEnvironment(environment)
            Issue.record("a 17-byte key was accepted")
        } catch {
            #expect(!"\(error)".contains("c2VjcmV0LWtleS1tYXRlcmlhbA"))
        }
        environment = Self.complete
        environment["SHEEN_HMAC_SECRET"] = "short"
        #expect(throws: ConfigurationError.self) { try ServiceConfiguration.fromEnvironment(environment) }
    }

    @Test func webhookSecretsMayRotate() throws {
        var environment = Self.complete
        environment["VERCEL_WEBHOOK_SECRETS"] = "new-secret,old-secret"
        #expect(
            try ServiceConfiguration.fromEnvironment(environment).webhooks.vercelSecrets == [
                "new-secret", "old-secret",
            ])
    }

    /// The configuration module is the one place that reads the process environment.
    @Test func nothingOutsideTheConfigurationModuleReadsTheEnvironment() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        var offenders: [String] = []
        for folder in ["Sources", "Functions", "Benchmarks"] {
            let enumerator = FileManager.default.enumerator(
                at: root.appendingPathComponent(folder), includingPropertiesForKeys: nil)
            while let url = enumerator?.nextObject() as? URL {
                guard url.pathExtension == "swift" || url.pathExtension == "c" || url.pathExtension == "h" else {
                    continue
                }
                guard !url.path.contains("/Sources/Settings/") else { continue }
                let text = try String(contentsOf: url, encoding: .utf8)
                for marker in ["ProcessInfo", "getenv", "environ["] where text.contains(marker) {
                    offenders.append("\(url.lastPathComponent): \(marker)")
                }
            }
        }
        #expect(offenders.isEmpty, "environment read outside Sources/Settings: \(offenders)")
    }
}
