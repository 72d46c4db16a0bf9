import Testing
import Vercel

/// Vercel's permission words, and what each one allows.
@Suite struct VercelPermissionTests {
    @Test(arguments: [
        ("read:project", "read:project", true), ("read-write:project", "read:project", true),
        ("read:project", "read-write:project", false), ("read-write:project", "read-write:project", true),
        ("read-write:project", "read:project-env-vars", false), ("read:deployment", "read:project", false),
        ("*", "read-write:domain", true), ("read-write:domain", "read:domain", true),
    ])
    func aPermissionIncludesItselfItsReadAndNothingElse(held: String, needed: String, allowed: Bool) throws {
        let granted = try #require(VercelPermission(held))
        let need = try #require(VercelPermission(needed))
        #expect(granted.includes(need) == allowed)
    }

    @Test(arguments: [
        "openid", "offline_access", "project:read", "env:write", "read:", ":project", "write:project", "read:Project",
        "read:project:x", "",
    ])
    func wordsThatAreNotVercelPermissionsAreNotParsed(word: String) {
        #expect(VercelPermission(word) == nil)
    }

    @Test func storedScopesWithoutAnyPermissionAreUnknownNotNone() {
        #expect(VercelPermission.known(nil) == nil)
        #expect(VercelPermission.known([]) == nil)
        #expect(VercelPermission.known(["openid", "email", "offline_access"]) == nil)
        #expect(VercelPermission.known(["openid", "read:user"]) == [.readUser])
        #expect(VercelPermission.writeEnv.description == "read-write:project-env-vars")
        #expect(VercelPermission("*")?.description == "*")
    }
}
