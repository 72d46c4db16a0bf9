import Foundation
import Kernel
import Testing
import Vercel

@testable import Platform

/// The comment's text and the providers' rate-limit answers, read without a network.
@Suite struct GitFeedbackTextTests {
    static func row(
        _ name: String, _ state: DeploymentState, url: String? = "https://site-abc.vercel.app"
    )
        -> GitFeedback.Row
    {
        GitFeedback.Row(
            projectID: UUID(), projectName: name, deploymentID: "dpl_1", state: state, url: url,
            inspectURL: "https://vercel.com/acme/site/dpl_1", errorStep: state == .error ? "BUILD" : nil,
            updatedAt: Date(timeIntervalSince1970: 1_800_000_000), sha: "abcdef1", credentialID: UUID(),
            tokenSealed: "v1.x")
    }

    @Test func theCommentHasTheMarkerAndARowPerProject() {
        let text = GitFeedback.render([Self.row("docs", .building), Self.row("web", .ready), Self.row("api", .error)])
        #expect(text.hasPrefix(GitFeedback.marker + "\n"))
        #expect(
            text.contains(
                "| docs | ⏳ Building | — | [Inspect](https://vercel.com/acme/site/dpl_1) | 2027-01-15 08:00 |"))
        #expect(text.contains("| web | ✅ Ready | [Visit preview](https://site-abc.vercel.app) |"))
        #expect(text.contains("| api | ❌ Failed (build) | — |"))
    }

    @Test func aProjectNameOrURLCannotAddMarkup() {
        let text = GitFeedback.render([
            Self.row(
                "x](https://evil.example)<img src=x>|\nnext", .ready, url: "https://a.vercel.app) [phish](https://evil")
        ])
        #expect(!text.contains("](https://evil.example)"))
        #expect(!text.contains("<img"))
        #expect(text.contains(#"x\]\(https://evil\.example\)&lt;img src=x&gt;\| next"#))
        #expect(!text.contains("phish"), "a URL that could end the link is left out")
    }

    static func response(_ status: Int, _ headers: [(String, String)]) -> HTTPResponse {
        HTTPResponse(status: status, headers: headers)
    }

    @Test func rateLimitsAreReadAsEachProviderSendsThem() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        // GitHub's primary limit: 403, nothing remaining, a reset time.
        #expect(
            GitHostClient.rateLimitWait(
                Self.response(403, [("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1800000042")]), now: now)
                == 42)
        // GitHub's secondary limit: 403 with retry-after.
        #expect(GitHostClient.rateLimitWait(Self.response(403, [("retry-after", "60")]), now: now) == 60)
        // A 403 that is no limit: a refused token.
        #expect(GitHostClient.rateLimitWait(Self.response(403, [("x-ratelimit-remaining", "12")]), now: now) == nil)
        // GitLab: 429 with Retry-After, or only RateLimit-Reset.
        #expect(GitHostClient.rateLimitWait(Self.response(429, [("retry-after", "5")]), now: now) == 5)
        // Retry-After may be an HTTP date.
        #expect(
            GitHostClient.rateLimitWait(
                Self.response(429, [("retry-after", "Fri, 15 Jan 2027 08:00:30 GMT")]), now: now) == 30)
        #expect(GitHostClient.rateLimitWait(Self.response(429, [("ratelimit-reset", "1800000010")]), now: now) == 10)
        // Bitbucket: a bare 429 waits a minute; no wait is shorter than 1 s or longer than an hour.
        #expect(GitHostClient.rateLimitWait(Self.response(429, []), now: now) == 60)
        #expect(GitHostClient.rateLimitWait(Self.response(429, [("retry-after", "0")]), now: now) == 1)
        #expect(GitHostClient.rateLimitWait(Self.response(429, [("retry-after", "86400")]), now: now) == 3600)
        #expect(GitHostClient.rateLimitWait(Self.response(500, [("retry-after", "5")]), now: now) == nil)
    }

    @Test func pathsAreEncodedPerProvider() {
        #expect(GitHostClient.encoded("group/sub/name") == "group%2Fsub%2Fname")
        #expect(GitHostClient.segments("acme/web.app") == "acme/web.app")
        #expect(GitHostClient.encoded("a b?") == "a%20b%3F")
    }
}
