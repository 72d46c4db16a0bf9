import FastCGI
import Testing

@Suite struct RouterTests {
    static func router() -> Router<Void> {
        var router = Router<Void>()
        let ok: Router<Void>.Handler = { _, _ in Response(status: 200) }
        router.add("GET", "/v1/projects/:projectId/vercel/env", ok)
        router.add("PUT", "/v1/projects/:projectId/vercel/env/:key", ok)
        router.add("DELETE", "/v1/projects/:projectId/vercel/env/:key", ok)
        router.add("GET", "/healthz/env", ok)
        return router
    }

    @Test(arguments: [
        ("GET", "/v1/projects/p1/vercel/env", "/v1/projects/:projectId/vercel/env", ["projectId": "p1"]),
        (
            "PUT", "/v1/projects/p1/vercel/env/API_KEY", "/v1/projects/:projectId/vercel/env/:key",
            ["projectId": "p1", "key": "API_KEY"]
        ),
        (
            "PUT", "/v1/projects/p1/vercel/env/A%20B", "/v1/projects/:projectId/vercel/env/:key",
            ["projectId": "p1", "key": "A B"]
        ),
        ("GET", "/healthz/env/", "/healthz/env", [:]),
        ("HEAD", "/healthz/env", "/healthz/env", [:]),
    ])
    func matchesPatternsAndDecodesParameters(
        method: String, path: String, pattern: String, parameters: [String: String]
    ) {
        guard case .found(let route, let bound) = Self.router().match(method: method, path: path) else {
            Issue.record("\(method) \(path) did not match")
            return
        }
        #expect(route.pattern == pattern)
        #expect(bound == parameters)
    }

    @Test func knownPathWithAnotherMethodIsMethodNotAllowedWithTheAllowedMethods() {
        guard
            case .methodNotAllowed(let allowed) = Self.router().match(
                method: "POST", path: "/v1/projects/p/vercel/env/K")
        else {
            Issue.record("expected 405")
            return
        }
        #expect(Set(allowed) == ["PUT", "DELETE"])
    }

    @Test(arguments: ["/v1/projects/p/vercel", "/v1/projects/p/vercel/env/K/extra", "/nothing"])
    func unknownPathsAreNotFound(path: String) {
        guard case .notFound = Self.router().match(method: "PUT", path: path) else {
            Issue.record("\(path) should not match")
            return
        }
    }

    /// A parameter may hold an encoded `/`: it stays one segment, decoded.
    @Test func anEncodedSlashIsPartOfItsParameter() {
        guard
            case .found(_, let parameters) = Self.router().match(method: "PUT", path: "/v1/projects/p/vercel/env/a%2Fb")
        else {
            Issue.record("an encoded slash did not match its route")
            return
        }
        #expect(parameters["key"] == "a/b")
    }
}
