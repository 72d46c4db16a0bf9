import Kernel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The few calls the feedback job makes to a git provider, with the repository's token: a pull
/// request's comments (list, create, edit) and a commit's status, on GitHub, GitLab and Bitbucket
/// Cloud. Every call has a 5 s connect and 15 s total timeout; answers are read into what a
/// caller must tell apart (rate limited and for how long, the token refused, not found).
public struct GitHostClient {
    public let provider: GitProvider
    let baseURL: String
    let token: String
    let transport: any HTTPTransport

    public init(provider: GitProvider, baseURL: String, token: String, transport: any HTTPTransport) {
        self.provider = provider
        self.baseURL = baseURL
        self.token = token
        self.transport = transport
    }

    public enum Failure: Error, Equatable {
        /// Wait this long before calling again (`Retry-After`, a reset time, or GitHub's 403 limits).
        case rateLimited(retryAfterSeconds: Int)
        /// 401, or a 403 that is no rate limit: the token no longer works for this repository.
        case tokenRefused(status: Int)
        case notFound
        /// Any other answer (a 5xx, a 4xx this client does not expect) or none.
        case failed(String)
    }

    public struct Comment: Sendable, Equatable {
        public let id: String
        public let author: String?
        public let body: String
    }

    /// What a commit status says.
    public enum StatusState: String, Sendable {
        case pending
        case success
        case failure
    }

    // MARK: Calls

    /// The pull request's comments, up to 1,000.
    public func comments(repository: String, pullRequest: Int) throws(Failure) -> [Comment] {
        var all: [Comment] = []
        switch provider {
        case .github, .gitlab:
            for page in 1...10 {
                let path =
                    provider == .github
                    ? "/repos/\(Self.segments(repository))/issues/\(pullRequest)/comments?per_page=100&page=\(page)"
                    : "/projects/\(Self.encoded(repository))/merge_requests/\(pullRequest)/notes?per_page=100&page=\(page)"
                let items = try decode([RawComment].self, try send("GET", baseURL + path, endpoint: commentsTemplate))
                all += items.map(\.comment)
                if items.count < 100 { break }
            }
        case .bitbucket:
            var url: String? =
                baseURL + "/repositories/\(Self.segments(repository))/pullrequests/\(pullRequest)/comments?pagelen=100"
            var pages = 0
            while let next = url, pages < 10 {
                let page = try decode(BitbucketPage.self, try send("GET", next, endpoint: commentsTemplate))
                all += page.values.map(\.comment)
                // Only a next page on the same API: a link elsewhere is not followed.
                url = page.next.flatMap { $0.hasPrefix(baseURL + "/") ? $0 : nil }
                pages += 1
            }
        }
        return all
    }

    public func createComment(repository: String, pullRequest: Int, body: String) throws(Failure) -> Comment {
        let url =
            switch provider {
            case .github: baseURL + "/repos/\(Self.segments(repository))/issues/\(pullRequest)/comments"
            case .gitlab: baseURL + "/projects/\(Self.encoded(repository))/merge_requests/\(pullRequest)/notes"
            case .bitbucket:
                baseURL + "/repositories/\(Self.segments(repository))/pullrequests/\(pullRequest)/comments"
            }
        return try decode(RawComment.self, try send("POST", url, endpoint: commentsTemplate, json: commentBody(body)))
            .comment
    }

    /// The comments' endpoint, as it is measured.
    var commentsTemplate: String {
        switch provider {
        case .github: "/repos/{}/{}/issues/{}/comments"
        case .gitlab: "/projects/{}/merge_requests/{}/notes"
        case .bitbucket: "/repositories/{}/{}/pullrequests/{}/comments"
        }
    }

    public func updateComment(repository: String, pullRequest: Int, id: String, body: String) throws(Failure) -> Comment
    {
        let encodedID = Self.encoded(id)
        let (method, url) =
            switch provider {
            case .github: ("PATCH", baseURL + "/repos/\(Self.segments(repository))/issues/comments/\(encodedID)")
            case .gitlab:
                (
                    "PUT",
                    baseURL + "/projects/\(Self.encoded(repository))/merge_requests/\(pullRequest)/notes/\(encodedID)"
                )
            case .bitbucket:
                (
                    "PUT",
                    baseURL
                        + "/repositories/\(Self.segments(repository))/pullrequests/\(pullRequest)/comments/\(encodedID)"
                )
            }
        let template =
            switch provider {
            case .github: "/repos/{}/{}/issues/comments/{}"
            case .gitlab: "/projects/{}/merge_requests/{}/notes/{}"
            case .bitbucket: "/repositories/{}/{}/pullrequests/{}/comments/{}"
            }
        return try decode(RawComment.self, try send(method, url, endpoint: template, json: commentBody(body))).comment
    }

    /// Sets the commit status named `context` on `sha`.
    public func setStatus(
        repository: String, sha: String, context: String, key: String, state: StatusState, url: String?,
        description: String
    ) throws(Failure) {
        let text = String(description.prefix(140))
        switch provider {
        case .github:
            _ = try send(
                "POST", baseURL + "/repos/\(Self.segments(repository))/statuses/\(sha)",
                endpoint: "/repos/{}/{}/statuses/{}",
                json: GitHubStatus(state: state.rawValue, target_url: url, description: text, context: context))
        case .gitlab:
            let value =
                switch state {
                case .pending: "running"
                case .success: "success"
                case .failure: "failed"
                }
            _ = try send(
                "POST", baseURL + "/projects/\(Self.encoded(repository))/statuses/\(sha)",
                endpoint: "/projects/{}/statuses/{}",
                json: GitLabStatus(state: value, name: context, target_url: url, description: text))
        case .bitbucket:
            let value =
                switch state {
                case .pending: "INPROGRESS"
                case .success: "SUCCESSFUL"
                case .failure: "FAILED"
                }
            _ = try send(
                "POST", baseURL + "/repositories/\(Self.segments(repository))/commit/\(sha)/statuses/build",
                endpoint: "/repositories/{}/{}/commit/{}/statuses/build",
                json: BitbucketStatus(key: key, state: value, name: context, url: url ?? "", description: text))
        }
    }

    /// Who the token acts as, as comments name their author: GitHub's and GitLab's username,
    /// Bitbucket's account UUID.
    public func whoAmI() throws(Failure) -> String {
        let me = try decode(Me.self, try send("GET", baseURL + "/user", endpoint: "/user"))
        guard let name = me.login ?? me.username ?? me.uuid else { throw .failed("the user has no name") }
        return name
    }

    // MARK: Wire

    /// - Parameter endpoint: the path's template (`/repos/{}/{}/statuses/{}`), what the call is
    ///   measured under: never a repository's name or an id.
    func send(
        _ method: String, _ url: String, endpoint: String, json: (some Encodable)? = String?.none
    ) throws(Failure) -> [UInt8] {
        var headers = [("Authorization", "Bearer \(token)"), ("Accept", "application/json")]
        var body: [UInt8] = []
        if let json {
            guard let data = try? JSONEncoder().encode(json) else { throw .failed("the body does not encode") }
            body = Array(data)
            headers.append(("Content-Type", "application/json"))
        }
        if provider == .github {
            headers += [("X-GitHub-Api-Version", "2022-11-28"), ("User-Agent", "sheen-vercel")]
        }
        let response: HTTPResponse
        let started = ContinuousClock.now
        do {
            response = try transport.send(
                HTTPRequest(
                    method: method, url: url, headers: headers, body: body, connectTimeout: .seconds(5),
                    totalTimeout: .seconds(15)))
        } catch {
            Outbound.record(
                remote: provider.rawValue, endpoint: endpoint, method: method, status: nil,
                seconds: (ContinuousClock.now - started).seconds)
            throw .failed("no answer: \(error)")
        }
        Outbound.record(
            remote: provider.rawValue, endpoint: endpoint, method: method, status: response.status,
            seconds: (ContinuousClock.now - started).seconds)
        if (200..<300).contains(response.status) { return response.body }
        if let wait = Self.rateLimitWait(response) {
            Outbound.rateLimited(remote: provider.rawValue, endpoint: endpoint, wait: .seconds(wait))
            throw .rateLimited(retryAfterSeconds: wait)
        }
        switch response.status {
        case 401, 403: throw .tokenRefused(status: response.status)
        case 404: throw .notFound
        default: throw .failed("\(provider.rawValue) answered \(response.status)")
        }
    }

    /// How long a refusal says to wait: a 429 (its `Retry-After`, else its reset time, else a
    /// minute), or GitHub's 403 limits (`retry-after` for the secondary limit,
    /// `x-ratelimit-remaining: 0` with `x-ratelimit-reset` for the primary). Nil when it is no
    /// rate limit. At least 1 s, at most an hour.
    static func rateLimitWait(_ response: HTTPResponse, now: Date = Date()) -> Int? {
        // Seconds, or an HTTP date (RFC 9110 allows either).
        let retryAfter = response.header("retry-after").flatMap { value -> Int? in
            let text = value.trimmingCharacters(in: .whitespaces)
            return Int(text) ?? HTTPDate.parse(text).map { Int($0.timeIntervalSince(now).rounded(.up)) }
        }
        let reset = (response.header("x-ratelimit-reset") ?? response.header("ratelimit-reset")).flatMap {
            Int($0.trimmingCharacters(in: .whitespaces))
        }
        let untilReset = reset.map { $0 > 1_000_000_000 ? $0 - Int(now.timeIntervalSince1970) : $0 }
        let wait: Int?
        switch response.status {
        case 429: wait = retryAfter ?? untilReset ?? 60
        case 403 where retryAfter != nil: wait = retryAfter
        case 403 where response.header("x-ratelimit-remaining") == "0": wait = untilReset ?? 60
        default: wait = nil
        }
        return wait.map { min(max($0, 1), 3600) }
    }

    func decode<T: Decodable>(_ type: T.Type, _ body: [UInt8]) throws(Failure) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(body))
        } catch {
            throw .failed("\(provider.rawValue) answered what is not the documented JSON")
        }
    }

    func commentBody(_ text: String) -> CommentBody {
        provider == .bitbucket
            ? CommentBody(body: nil, content: .init(raw: text)) : CommentBody(body: text, content: nil)
    }

    /// `owner/name` with each segment percent-encoded.
    static func segments(_ repository: String) -> String {
        repository.split(separator: "/").map { encoded(String($0)) }.joined(separator: "/")
    }

    /// Everything but unreserved characters percent-encoded (GitLab's project path becomes one
    /// segment: `group%2Fname`).
    static func encoded(_ text: String) -> String { QueryString.encode(text) }
}

// The providers' bodies.

struct CommentBody: Encodable {
    let body: String?
    let content: Content?

    struct Content: Encodable {
        let raw: String
    }

    func encode(to encoder: any Encoder) throws {
        enum Keys: String, CodingKey { case body, content }
        var container = encoder.container(keyedBy: Keys.self)
        try container.encodeIfPresent(body, forKey: .body)
        try container.encodeIfPresent(content, forKey: .content)
    }
}

struct RawComment: Decodable {
    let id: Int64
    let body: String?
    let content: Content?
    let user: Person?
    let author: Person?

    struct Content: Decodable {
        let raw: String?
    }

    struct Person: Decodable {
        let login: String?
        let username: String?
        let uuid: String?
    }

    var comment: GitHostClient.Comment {
        GitHostClient.Comment(
            id: "\(id)", author: user?.login ?? author?.username ?? user?.uuid, body: body ?? content?.raw ?? "")
    }
}

struct BitbucketPage: Decodable {
    let values: [RawComment]
    let next: String?
}

struct Me: Decodable {
    let login: String?
    let username: String?
    let uuid: String?
}

// swift-format-ignore: AlwaysUseLowerCamelCase
struct GitHubStatus: Encodable {
    let state: String
    let target_url: String?
    let description: String
    let context: String
}

// swift-format-ignore: AlwaysUseLowerCamelCase
struct GitLabStatus: Encodable {
    let state: String
    let name: String
    let target_url: String?
    let description: String
}

struct BitbucketStatus: Encodable {
    let key: String
    let state: String
    let name: String
    let url: String
    let description: String
}
