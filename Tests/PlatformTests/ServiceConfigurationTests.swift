import Platform
import Testing

@Suite struct ServiceConfigurationTests {
    static let complete = [
        "DATABASE_URL": "postgresql://localhost/db",
        "SHEEN_HMAC_SECRET": String(repeating: "s", count: 40),
        "TOKEN_ENCRYPTION_KEYS": "k1:" + String(repeating: "A", count: 43) + "=",
    ]

    @Test func aCompleteEnvironmentLoads() throws {
        let configuration = try ServiceConfiguration.fromEnvironment(Self.complete)
        #expect(configuration.keyRing.currentKeyID == "k1")
        #expect(!configuration.acceptLegacySignatures && !configuration.faultRoutesEnabled)
    }

    @Test(arguments: ["DATABASE_URL", "SHEEN_HMAC_SECRET", "TOKEN_ENCRYPTION_KEYS"])
    func eachRequiredVariableIsNamedWhenMissing(name: String) {
        var environment = Self.complete
        environment[name] = nil
        #expect(throws: ConfigurationError.missing(name)) { try ServiceConfiguration.fromEnvironment(environment) }
    }

    @Test func malformedValuesAreRefusedWithoutEchoingThem() {
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
}
