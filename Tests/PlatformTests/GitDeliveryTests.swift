import FastCGI
import Foundation
import Kernel
import Platform
import PlatformHost
import Testing

/// The three providers' deliveries read from their real example payloads (byte for byte, see
/// Tests/Fixtures/git/README.md), and their proofs checked with published test vectors.
@Suite struct GitDeliveryTests {
    static func fixture(_ name: String) throws -> [UInt8] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/git/\(name)")
        return Array(try Data(contentsOf: url))
    }

    static func date(_ text: String) -> Date { try! Date(text, strategy: .iso8601) }

    @Test func githubPush() throws {
        let body = try Self.fixture("github-push.json")
        #expect(GitDelivery.repositoryName(.github, body: body) == "binkkatal/sample_app")
        let delivery = try #require(GitDelivery.parse(.github, event: "push", body: body))
        #expect(delivery.repository == "binkkatal/sample_app")
        let change = try #require(delivery.changes.first)
        #expect(delivery.changes.count == 1)
        #expect(change.kind == "push")
        #expect(change.branch == "master")
        #expect(change.commitSha == "fd489864e7642b48eaad6e3f155c10e46810ec72")
        #expect(change.commitMessage == "test a push event")
        #expect(change.committedAt == Self.date("2018-06-29T14:04:13Z"))
        #expect(change.ignored == nil)
        #expect(change.subject == "push:master")
    }

    @Test func gitlabPush() throws {
        let body = try Self.fixture("gitlab-push-event.json")
        #expect(GitDelivery.repositoryName(.gitlab, body: body) == "mike/diaspora")
        let delivery = try #require(GitDelivery.parse(.gitlab, event: "Push Hook", body: body))
        let change = try #require(delivery.changes.first)
        #expect(change.branch == "master")
        #expect(change.commitSha == "da1560886d4f094c3e6c9ef40349f7d38b5d27d7")
        // The head commit is the one whose id is `after`, not the first listed.
        #expect(change.commitMessage == "fixed readme")
        #expect(change.committedAt == Self.date("2012-01-03T21:36:29Z"))
        #expect(change.ignored == nil)
    }

    @Test func bitbucketPush() throws {
        let body = try Self.fixture("bitbucket-repo-push.json")
        #expect(GitDelivery.repositoryName(.bitbucket, body: body) == "team_name/repo_name")
        let delivery = try #require(GitDelivery.parse(.bitbucket, event: "repo:push", body: body))
        let change = try #require(delivery.changes.first)
        #expect(delivery.changes.count == 1)
        #expect(change.branch == "name-of-branch")
        #expect(change.commitSha == "709d658dc5b6d6afcd46049c2f332ee3f515a67d")
        #expect(change.commitMessage == "new commit message\n")
        #expect(change.committedAt == Self.date("2015-06-09T03:34:49Z"))
        #expect(change.ignored == nil)
    }

    @Test func deletionsAndTagsDeployNothing() throws {
        let zero = String(repeating: "0", count: 40)
        let githubDelete =
            #"{"ref":"refs/heads/gone","after":"\#(zero)","deleted":true,"repository":{"full_name":"o/r"}}"#
        let githubTag =
            #"{"ref":"refs/tags/v1","after":"\#(String(repeating: "a", count: 40))","repository":{"full_name":"o/r"}}"#
        let gitlabDelete =
            #"{"object_kind":"push","ref":"refs/heads/gone","after":"\#(zero)","checkout_sha":null,"project":{"path_with_namespace":"g/r"}}"#
        let bitbucketDelete =
            #"{"repository":{"full_name":"o/r"},"push":{"changes":[{"new":null,"old":{"type":"branch","name":"gone","target":{"hash":"abcdef1"}}}]}}"#
        let cases: [(GitProvider, String, String, String)] = [
            (.github, "push", githubDelete, "the branch was deleted"),
            (.github, "push", githubTag, "tags do not deploy"),
            (.gitlab, "Push Hook", gitlabDelete, "the branch was deleted"),
            (.bitbucket, "repo:push", bitbucketDelete, "the branch was deleted"),
        ]
        for (provider, event, body, reason) in cases {
            let delivery = try #require(GitDelivery.parse(provider, event: event, body: Array(body.utf8)))
            #expect(delivery.changes.first?.ignored == reason, "\(provider) \(body)")
        }
    }

    static func githubPullRequest(action: String, headRepo: String?) -> String {
        let repo = headRepo.map { #"{"full_name":"\#($0)"}"# } ?? "null"
        return #"""
            {"action":"\#(action)","number":7,"pull_request":{"head":{"ref":"feature/x","sha":"ec26c3e57ca3a959ca5aad62de7213c562f8c821","repo":\#(repo)},"base":{"ref":"main","sha":"aaaaaaa","repo":{"full_name":"acme/web"}}},"repository":{"full_name":"acme/web"}}
            """#
    }

    @Test func pullRequests() throws {
        let opened = try #require(
            GitDelivery.parse(
                .github, event: "pull_request",
                body: Array(Self.githubPullRequest(action: "opened", headRepo: "acme/web").utf8)))
        #expect(opened.changes[0].ignored == nil)
        #expect(opened.changes[0].fromFork == false)
        #expect(opened.changes[0].prNumber == 7)
        #expect(opened.changes[0].subject == "pr:7")
        #expect(opened.changes[0].commitSha == "ec26c3e57ca3a959ca5aad62de7213c562f8c821")
        let fork = try #require(
            GitDelivery.parse(
                .github, event: "pull_request",
                body: Array(Self.githubPullRequest(action: "synchronize", headRepo: "mallory/web").utf8)))
        #expect(fork.changes[0].fromFork)
        #expect(fork.changes[0].ignored == nil)
        let deletedFork = try #require(
            GitDelivery.parse(
                .github, event: "pull_request",
                body: Array(Self.githubPullRequest(action: "reopened", headRepo: nil).utf8)))
        #expect(deletedFork.changes[0].fromFork)
        for action in ["closed", "edited", "labeled"] {
            let delivery = try #require(
                GitDelivery.parse(
                    .github, event: "pull_request",
                    body: Array(Self.githubPullRequest(action: action, headRepo: "acme/web").utf8)))
            #expect(delivery.changes[0].ignored != nil, "\(action)")
        }

        func gitlab(_ action: String, oldrev: Bool, source: Int = 1) -> GitDelivery? {
            let body = #"""
                {"object_kind":"merge_request","project":{"path_with_namespace":"g/r"},"object_attributes":{"iid":3,"action":"\#(action)","source_branch":"fix","source_project_id":\#(source),"target_project_id":1,"last_commit":{"id":"da1560886d4f094c3e6c9ef40349f7d38b5d27d7","message":"m","timestamp":"2012-01-03T23:36:29+02:00"}\#(oldrev ? #","oldrev":"95790bf891e76fee5e1747ab589903a6a1f80f22""# : "")}}
                """#
            return GitDelivery.parse(.gitlab, event: "Merge Request Hook", body: Array(body.utf8))
        }
        #expect(gitlab("open", oldrev: false)?.changes[0].ignored == nil)
        #expect(gitlab("update", oldrev: true)?.changes[0].ignored == nil)
        #expect(gitlab("update", oldrev: false)?.changes[0].ignored != nil)
        #expect(gitlab("merge", oldrev: false)?.changes[0].ignored != nil)
        #expect(gitlab("open", oldrev: false, source: 2)?.changes[0].fromFork == true)
        #expect(gitlab("open", oldrev: false)?.changes[0].fromFork == false)
        // Without both project ids nothing shows the branch is the repository's own: a fork.
        let unproven = #"""
            {"object_kind":"merge_request","project":{"path_with_namespace":"g/r"},"object_attributes":{"iid":4,"action":"open","source_branch":"fix","last_commit":{"id":"da1560886d4f094c3e6c9ef40349f7d38b5d27d7","message":"m"}}}
            """#
        let delivery = GitDelivery.parse(.gitlab, event: "Merge Request Hook", body: Array(unproven.utf8))
        #expect(delivery?.changes[0].fromFork == true)

        func bitbucket(_ event: String, source: String) -> GitDelivery? {
            let body = #"""
                {"repository":{"full_name":"team/repo"},"pullrequest":{"id":9,"source":{"branch":{"name":"fix"},"commit":{"hash":"709d658dc5b6"},"repository":{"full_name":"\#(source)"}},"destination":{"branch":{"name":"main"},"commit":{"hash":"1e65c05c1d51"},"repository":{"full_name":"team/repo"}}}}
                """#
            return GitDelivery.parse(.bitbucket, event: event, body: Array(body.utf8))
        }
        #expect(bitbucket("pullrequest:created", source: "team/repo")?.changes[0].ignored == nil)
        #expect(bitbucket("pullrequest:updated", source: "someone/repo")?.changes[0].fromFork == true)
        #expect(bitbucket("pullrequest:fulfilled", source: "team/repo")?.changes[0].ignored != nil)
    }

    @Test func otherEventsAreIgnoredAndBadBodiesRefused() throws {
        let ping = try #require(
            GitDelivery.parse(
                .github, event: "ping", body: Array(#"{"zen":"x","repository":{"full_name":"o/r"}}"#.utf8)))
        #expect(ping.repository == "o/r")
        #expect(ping.changes[0].ignored != nil)
        #expect(GitDelivery.parse(.github, event: "push", body: Array("not json".utf8)) == nil)
        #expect(GitDelivery.parse(.gitlab, event: "Push Hook", body: Array(#"{"ref":1}"#.utf8)) == nil)
    }

    // MARK: Proofs

    /// GitHub's published example ("Validating webhook deliveries"): this secret and payload give
    /// this signature. Bitbucket Cloud signs the same way under `X-Hub-Signature`.
    static let githubVector = (
        secret: "It's a Secret to Everybody", payload: "Hello, World!",
        signature: "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    )

    @Test func hmacProofs() {
        let body = Array(Self.githubVector.payload.utf8)
        let secret = Array(Self.githubVector.secret.utf8)
        for (provider, header) in [(GitProvider.github, "X-Hub-Signature-256"), (.bitbucket, "X-Hub-Signature")] {
            var headers = HTTPHeaders()
            headers[header] = Self.githubVector.signature
            #expect(provider.proves(headers, body: body, secrets: [secret]))
            #expect(provider.proves(headers, body: body, secrets: [Array("other".utf8), secret]), "a second secret")
            #expect(!provider.proves(headers, body: body + [0x20], secrets: [secret]), "a changed body")
            #expect(!provider.proves(headers, body: body, secrets: [Array("wrong".utf8)]))
            #expect(!provider.proves(headers, body: body, secrets: []))
            var upper = HTTPHeaders()
            upper[header] = "sha1=" + Self.githubVector.signature.dropFirst(7)
            #expect(!provider.proves(upper, body: body, secrets: [secret]), "another algorithm")
            #expect(!provider.proves(HTTPHeaders(), body: body, secrets: [secret]), "no header")
        }
        // GitHub's header is not Bitbucket's.
        var headers = HTTPHeaders()
        headers["X-Hub-Signature"] = Self.githubVector.signature
        #expect(!GitProvider.github.proves(headers, body: body, secrets: [secret]))
    }

    @Test func gitlabTokenProof() {
        var headers = HTTPHeaders()
        headers["X-Gitlab-Token"] = "My custom token"
        #expect(GitProvider.gitlab.proves(headers, body: [], secrets: [Array("My custom token".utf8)]))
        #expect(!GitProvider.gitlab.proves(headers, body: [], secrets: [Array("My custom token!".utf8)]))
        #expect(!GitProvider.gitlab.proves(headers, body: [], secrets: [Array("my custom token".utf8)]))
        #expect(!GitProvider.gitlab.proves(HTTPHeaders(), body: [], secrets: [Array("My custom token".utf8)]))
    }

    @Test func idempotencyKeys() {
        let commit = GitCommit(
            provider: .github, repository: "Acme/Web", branch: "main", sha: "abc1234", prNumber: nil, committedAt: nil,
            target: .preview)
        #expect(commit.idempotencyKey == "git:github:acme/web:abc1234:preview")
        let long = GitCommit(
            provider: .gitlab, repository: String(repeating: "g/", count: 120) + "r", branch: "main", sha: "abc1234",
            prNumber: 3, committedAt: nil, target: .preview)
        #expect(long.idempotencyKey.utf8.count <= 255)
        #expect(long.idempotencyKey.hasPrefix("git:gitlab:"))
    }
}
