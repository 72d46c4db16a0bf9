import Crypto
import Platform
import PlatformHost
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Keys, targets, types and values an env route takes or refuses, masks that show almost nothing,
/// and hashes that leak nothing.
@Suite struct EnvRulesTests {
    @Test(arguments: ["API_URL", "_PRIVATE", "a", "Next_Public_Thing2", String(repeating: "K", count: 256)])
    func acceptableKeys(key: String) throws {
        try EnvRules.check(key: key)
    }

    @Test(arguments: [
        ("", EnvRules.Problem.invalidKey), ("1ST", .invalidKey), ("API-URL", .invalidKey), ("API URL", .invalidKey),
        ("ÄPI", .invalidKey), (String(repeating: "K", count: 257), .invalidKey), ("TZ", .reservedKey("TZ")),
        ("aws_lambda_function_name", .reservedKey("aws_lambda_function_name")),
        ("VERCEL_URL", .systemKey("VERCEL_URL")),
        ("VERCEL_GIT_COMMIT_SHA", .systemKey("VERCEL_GIT_COMMIT_SHA")), ("CI", .systemKey("CI")),
    ])
    func refusedKeys(key: String, problem: EnvRules.Problem) {
        #expect(throws: problem) { try EnvRules.check(key: key) }
    }

    @Test func valuesTargetsAndTypesAreChecked() throws {
        try EnvRules.check(key: "A", value: "x", targets: ["production", "preview"], type: "sensitive")
        #expect(throws: EnvRules.Problem.sensitiveOnDevelopment) {
            try EnvRules.check(key: "A", value: "x", targets: ["development"], type: "sensitive")
        }
        #expect(throws: EnvRules.Problem.invalidTarget("staging")) {
            try EnvRules.check(key: "A", value: "x", targets: ["staging"], type: "plain")
        }
        #expect(throws: EnvRules.Problem.invalidType("system")) {
            try EnvRules.check(key: "A", value: "x", targets: ["preview"], type: "system")
        }
        #expect(throws: EnvRules.Problem.valueTooLong) {
            try EnvRules.check(
                key: "A", value: String(repeating: "v", count: 65_537), targets: ["preview"], type: "plain")
        }
    }

    @Test func masksShowAtMostTheLastTwoCharactersOfALongValue() {
        #expect(EnvRules.masked("https://api.example.com", type: "encrypted") == "****om")
        #expect(EnvRules.masked("short-secret", type: "encrypted") == "****")
        #expect(EnvRules.masked("a-long-sensitive-value", type: "sensitive") == "****")
    }

    @Test func hashesAreKeyedAndBoundToTheProject() throws {
        let hasher = EnvValueHasher(secret: Array("the-service-secret-of-at-least-32-bytes".utf8))
        let project = UUID()
        let hash = hasher.hash("hunter2", projectID: project)
        #expect(hash.count == 64 && hash == hasher.hash("hunter2", projectID: project))
        // Not the plain SHA-256 of the value, nor the same in another project or under another key.
        #expect(hash != Hex.encode(Digest.sha256(Array("hunter2".utf8))))
        #expect(hash != hasher.hash("hunter2", projectID: UUID()))
        #expect(
            hash
                != EnvValueHasher(secret: Array("another-secret-another-secret-xxxxxx".utf8)).hash(
                    "hunter2", projectID: project))
        #expect(hash != hasher.hash("hunter3", projectID: project))
    }
}
