import FastCGI
import Foundation
import Kernel

/// The git providers' comment and status endpoints the feedback job calls, at their own paths under
/// `/github`, `/gitlab/api/v4` and `/bitbucket/2.0`, with each provider's bodies and error shapes:
/// - GitHub: `GET/POST /repos/{owner}/{repo}/issues/{n}/comments`, `PATCH
///   /repos/{owner}/{repo}/issues/comments/{id}`, `POST /repos/{owner}/{repo}/statuses/{sha}`,
///   `GET /user`; errors `{"message", "documentation_url"}`; its primary rate limit is a 403 with
///   `x-ratelimit-remaining: 0` and `x-ratelimit-reset`, its secondary one a 403 with `retry-after`.
/// - GitLab: `GET/POST /projects/{id}/merge_requests/{iid}/notes`, `PUT …/notes/{note_id}`,
///   `POST /projects/{id}/statuses/{sha}`, `GET /user`; errors `{"message"}`; 429 with
///   `Retry-After` and `RateLimit-Reset`.
/// - Bitbucket Cloud: `GET/POST /repositories/{workspace}/{repo}/pullrequests/{id}/comments`,
///   `PUT …/comments/{comment_id}`, `POST /repositories/{workspace}/{repo}/commit/{sha}/statuses/build`,
///   `GET /user`; errors `{"type": "error", "error": {"message"}}`; 429.
///
/// Tests register tokens (`POST /_sim/git/tokens`), set fault knobs per token (`PUT
/// /_sim/git/faults`), delete a comment as a person would (`DELETE /_sim/git/comments/{id}`) and
/// read what a pull request shows (`GET /_sim/git/pulls?provider=&repository=&number=`).
enum GitHostRoutes {
    struct Comment: Codable, Sendable {
        var id: Int
        var author: String
        var body: String
        var updatedAt: Int64
    }

    struct Status: Codable, Sendable {
        var context: String
        var state: String
        var targetURL: String?
        var description: String?
    }

    struct Faults: Codable, Sendable {
        /// This many calls are refused as rate limited, each saying to wait `resetSeconds`.
        var rateLimited = 0
        var resetSeconds = 1
        /// GitHub only: refuse as its secondary limit does (403 with `retry-after`).
        var secondary = false
        /// This many calls answer 502.
        var serverErrors = 0
    }

    struct Data: Sendable {
        /// Token → the user it acts as.
        var tokens: [String: String] = [:]
        var revoked: Set<String> = []
        var faults: [String: Faults] = [:]
        /// "provider repository#number" → its comments (repository in lowercase).
        var comments: [String: [Comment]] = [:]
        /// "provider repository@sha" → statuses, newest last.
        var statuses: [String: [Status]] = [:]
        var nextID = 1000
        /// Calls per token: "METHOD kind".
        var calls: [String: [String]] = [:]
    }

    static func pull(_ provider: String, _ repository: String, _ number: String) -> String {
        "\(provider) \(repository.lowercased())#\(number)"
    }

    static func commit(_ provider: String, _ repository: String, _ sha: String) -> String {
        "\(provider) \(repository.lowercased())@\(sha)"
    }

    /// The provider's error body.
    static func error(
        _ provider: String, _ status: Int, _ message: String, headers: [(String, String)] = []
    ) -> Response {
        let body: JSONValue =
            switch provider {
            case "github": .object(["message": .string(message), "documentation_url": "https://docs.github.com/rest"])
            case "gitlab": .object(["message": .string(message)])
            default: .object(["type": "error", "error": .object(["message": .string(message)])])
            }
        var response = Response.json(body, status: status)
        response.headers += headers
        return response
    }

    typealias Handler = @Sendable (Request, SimulatorState, String) throws -> Response

    /// Authenticates the bearer token (GitLab also takes `PRIVATE-TOKEN`), applies its knobs, and
    /// counts the call.
    static func route(
        _ provider: String, _ kind: String, _ handler: @escaping Handler
    )
        -> @Sendable (
            Request, SimulatorState
        ) throws -> Response
    {
        { request, state in
            let bearer = request.headers["authorization"].flatMap {
                $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil
            }
            guard let token = bearer ?? request.headers["private-token"] else {
                return error(provider, 401, provider == "gitlab" ? "401 Unauthorized" : "Requires authentication")
            }
            enum Gate {
                case user(String)
                case refused
                case limited(Faults)
                case failing
            }
            let gate = state.with { data -> Gate in
                guard let user = data.git.tokens[token], !data.git.revoked.contains(token) else { return .refused }
                data.git.calls[token, default: []].append("\(request.method) \(kind)")
                var faults = data.git.faults[token] ?? Faults()
                defer { data.git.faults[token] = faults }
                if faults.rateLimited > 0 {
                    faults.rateLimited -= 1
                    return .limited(faults)
                }
                if faults.serverErrors > 0 {
                    faults.serverErrors -= 1
                    return .failing
                }
                return .user(user)
            }
            switch gate {
            case .refused:
                return error(provider, 401, provider == "gitlab" ? "401 Unauthorized" : "Bad credentials")
            case .failing:
                return error(provider, 502, "Server Error")
            case .limited(let faults):
                let reset = Int(Date().timeIntervalSince1970) + faults.resetSeconds
                switch provider {
                case "github" where faults.secondary:
                    return error(
                        provider, 403, "You have exceeded a secondary rate limit.",
                        headers: [("retry-after", "\(faults.resetSeconds)")])
                case "github":
                    return error(
                        provider, 403, "API rate limit exceeded.",
                        headers: [
                            ("x-ratelimit-limit", "5000"), ("x-ratelimit-remaining", "0"),
                            ("x-ratelimit-reset", "\(reset)"),
                        ])
                case "gitlab":
                    return error(
                        provider, 429, "Retry later",
                        headers: [("Retry-After", "\(faults.resetSeconds)"), ("RateLimit-Reset", "\(reset)")])
                default:
                    return error(
                        provider, 429, "Rate limit for this resource has been exceeded",
                        headers: [("Retry-After", "\(faults.resetSeconds)")])
                }
            case .user(let user):
                return try handler(request, state, user)
            }
        }
    }

    static func body(_ request: Request) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Foundation.Data(request.body))) as? [String: Any] ?? [:]
    }

    static func commentJSON(_ provider: String, _ comment: Comment) -> JSONValue {
        switch provider {
        case "github":
            .object([
                "id": .integer(comment.id), "body": .string(comment.body),
                "user": .object(["login": .string(comment.author)]),
            ])
        case "gitlab":
            .object([
                "id": .integer(comment.id), "body": .string(comment.body),
                "author": .object(["username": .string(comment.author)]),
            ])
        default:
            .object([
                "id": .integer(comment.id), "content": .object(["raw": .string(comment.body)]),
                "user": .object(["uuid": .string("{\(comment.author)}"), "nickname": .string(comment.author)]),
            ])
        }
    }

    static func list(_ provider: String, repository: String, number: String, _ state: SimulatorState) -> Response {
        let comments = state.with { $0.git.comments[pull(provider, repository, number)] ?? [] }
        let values = JSONValue.array(comments.map { commentJSON(provider, $0) })
        return provider == "bitbucket" ? .json(JSONValue.object(["values": values, "pagelen": 100])) : .json(values)
    }

    static func create(
        _ provider: String, repository: String, number: String, text: String?, _ state: SimulatorState,
        _ user: String
    ) -> Response {
        guard let text, !text.isEmpty else { return error(provider, 422, "Body is required") }
        let comment = state.with { data -> Comment in
            data.git.nextID += 1
            let comment = Comment(id: data.git.nextID, author: user, body: text, updatedAt: data.tick())
            data.git.comments[pull(provider, repository, number), default: []].append(comment)
            return comment
        }
        return .json(commentJSON(provider, comment), status: 201)
    }

    static func update(
        _ provider: String, key: String?, id: String, text: String?, _ state: SimulatorState, _ user: String
    ) -> Response {
        guard let text, !text.isEmpty else { return error(provider, 422, "Body is required") }
        let updated = state.with { data -> Comment? in
            let all = data.git.comments
            for (pullKey, comments) in all where key == nil || key == pullKey {
                guard let index = comments.firstIndex(where: { "\($0.id)" == id }) else { continue }
                guard comments[index].author == user else { return nil }
                var comment = comments[index]
                comment.body = text
                comment.updatedAt = data.tick()
                data.git.comments[pullKey]?[index] = comment
                return comment
            }
            return nil
        }
        guard let updated else { return error(provider, 404, provider == "gitlab" ? "404 Not found" : "Not Found") }
        return .json(commentJSON(provider, updated))
    }

    static func status(
        _ provider: String, repository: String, sha: String, _ status: Status, _ state: SimulatorState
    ) -> Response {
        state.with { $0.git.statuses[commit(provider, repository, sha), default: []].append(status) }
        return .json(
            JSONValue.object(["state": .string(status.state), "context": .string(status.context)]), status: 201)
    }

    static func add(to router: inout Router<SimulatorState>) {
        // GitHub
        router.add(
            "GET", "/github/user",
            route("github", "user") { _, _, user in .json(JSONValue.object(["login": .string(user)])) })
        router.add(
            "GET", "/github/repos/:owner/:repo/issues/:number/comments",
            route("github", "comments") { request, state, _ in
                list(
                    "github", repository: "\(request.parameter("owner")!)/\(request.parameter("repo")!)",
                    number: request.parameter("number")!, state)
            })
        router.add(
            "POST", "/github/repos/:owner/:repo/issues/:number/comments",
            route("github", "comment") { request, state, user in
                create(
                    "github", repository: "\(request.parameter("owner")!)/\(request.parameter("repo")!)",
                    number: request.parameter("number")!, text: body(request)["body"] as? String, state, user)
            })
        router.add(
            "PATCH", "/github/repos/:owner/:repo/issues/comments/:id",
            route("github", "comment") { request, state, user in
                update(
                    "github", key: nil, id: request.parameter("id")!, text: body(request)["body"] as? String, state,
                    user)
            })
        router.add(
            "POST", "/github/repos/:owner/:repo/statuses/:sha",
            route("github", "status") { request, state, _ in
                let fields = body(request)
                guard let value = fields["state"] as? String,
                    ["pending", "success", "failure", "error"].contains(value)
                else { return error("github", 422, "Validation Failed") }
                return status(
                    "github", repository: "\(request.parameter("owner")!)/\(request.parameter("repo")!)",
                    sha: request.parameter("sha")!,
                    Status(
                        context: fields["context"] as? String ?? "default", state: value,
                        targetURL: fields["target_url"] as? String, description: fields["description"] as? String),
                    state)
            })
        // GitLab: the project is its URL-encoded path.
        router.add(
            "GET", "/gitlab/api/v4/user",
            route("gitlab", "user") { _, _, user in .json(JSONValue.object(["username": .string(user)])) })
        router.add(
            "GET", "/gitlab/api/v4/projects/:project/merge_requests/:iid/notes",
            route("gitlab", "comments") { request, state, _ in
                list("gitlab", repository: request.parameter("project")!, number: request.parameter("iid")!, state)
            })
        router.add(
            "POST", "/gitlab/api/v4/projects/:project/merge_requests/:iid/notes",
            route("gitlab", "comment") { request, state, user in
                create(
                    "gitlab", repository: request.parameter("project")!, number: request.parameter("iid")!,
                    text: body(request)["body"] as? String, state, user)
            })
        router.add(
            "PUT", "/gitlab/api/v4/projects/:project/merge_requests/:iid/notes/:id",
            route("gitlab", "comment") { request, state, user in
                update(
                    "gitlab", key: pull("gitlab", request.parameter("project")!, request.parameter("iid")!),
                    id: request.parameter("id")!, text: body(request)["body"] as? String, state, user)
            })
        router.add(
            "POST", "/gitlab/api/v4/projects/:project/statuses/:sha",
            route("gitlab", "status") { request, state, _ in
                let fields = body(request)
                guard let value = fields["state"] as? String,
                    ["pending", "running", "success", "failed", "canceled"].contains(value)
                else { return error("gitlab", 400, "state does not have a valid value") }
                return status(
                    "gitlab", repository: request.parameter("project")!, sha: request.parameter("sha")!,
                    Status(
                        context: fields["name"] as? String ?? "default", state: value,
                        targetURL: fields["target_url"] as? String, description: fields["description"] as? String),
                    state)
            })
        // Bitbucket Cloud
        router.add(
            "GET", "/bitbucket/2.0/user",
            route("bitbucket", "user") { _, _, user in
                .json(JSONValue.object(["uuid": .string("{\(user)}"), "nickname": .string(user)]))
            })
        router.add(
            "GET", "/bitbucket/2.0/repositories/:workspace/:repo/pullrequests/:id/comments",
            route("bitbucket", "comments") { request, state, _ in
                list(
                    "bitbucket", repository: "\(request.parameter("workspace")!)/\(request.parameter("repo")!)",
                    number: request.parameter("id")!, state)
            })
        router.add(
            "POST", "/bitbucket/2.0/repositories/:workspace/:repo/pullrequests/:id/comments",
            route("bitbucket", "comment") { request, state, user in
                create(
                    "bitbucket", repository: "\(request.parameter("workspace")!)/\(request.parameter("repo")!)",
                    number: request.parameter("id")!,
                    text: (body(request)["content"] as? [String: Any])?["raw"] as? String, state, user)
            })
        router.add(
            "PUT", "/bitbucket/2.0/repositories/:workspace/:repo/pullrequests/:id/comments/:comment",
            route("bitbucket", "comment") { request, state, user in
                update(
                    "bitbucket",
                    key: pull(
                        "bitbucket", "\(request.parameter("workspace")!)/\(request.parameter("repo")!)",
                        request.parameter("id")!),
                    id: request.parameter("comment")!,
                    text: (body(request)["content"] as? [String: Any])?["raw"] as? String, state, user)
            })
        router.add(
            "POST", "/bitbucket/2.0/repositories/:workspace/:repo/commit/:sha/statuses/build",
            route("bitbucket", "status") { request, state, _ in
                let fields = body(request)
                guard let value = fields["state"] as? String,
                    ["INPROGRESS", "SUCCESSFUL", "FAILED", "STOPPED"].contains(value),
                    let key = fields["key"] as? String, (1...40).contains(key.count)
                else { return error("bitbucket", 400, "Invalid build status") }
                return status(
                    "bitbucket", repository: "\(request.parameter("workspace")!)/\(request.parameter("repo")!)",
                    sha: request.parameter("sha")!,
                    Status(
                        context: fields["name"] as? String ?? key, state: value, targetURL: fields["url"] as? String,
                        description: fields["description"] as? String),
                    state)
            })

        // The controls for tests.
        router.add("POST", "/_sim/git/tokens") { request, state in
            let fields = body(request)
            guard let token = fields["token"] as? String, let user = fields["user"] as? String else {
                throw HTTPError(400, code: "BAD_TOKEN", message: "Send token and user")
            }
            state.with {
                $0.git.tokens[token] = user
                if fields["revoked"] as? Bool == true {
                    $0.git.revoked.insert(token)
                } else {
                    $0.git.revoked.remove(token)
                }
            }
            return .json(["registered": true])
        }
        router.add("PUT", "/_sim/git/faults") { request, state in
            struct Knobs: Decodable {
                var token: String
                var rateLimited: Int?
                var resetSeconds: Int?
                var secondary: Bool?
                var serverErrors: Int?
            }
            let knobs = try request.decodeJSON(Knobs.self)
            state.with {
                var faults = Faults()
                faults.rateLimited = knobs.rateLimited ?? 0
                faults.resetSeconds = knobs.resetSeconds ?? 1
                faults.secondary = knobs.secondary ?? false
                faults.serverErrors = knobs.serverErrors ?? 0
                $0.git.faults[knobs.token] = faults
            }
            return .json(["set": true])
        }
        router.add("DELETE", "/_sim/git/comments/:id") { request, state in
            let id = request.parameter("id") ?? ""
            let removed = state.with { data -> Bool in
                for (key, comments) in data.git.comments.map({ ($0.key, $0.value) }) {
                    if let index = comments.firstIndex(where: { "\($0.id)" == id }) {
                        data.git.comments[key]?.remove(at: index)
                        return true
                    }
                }
                return false
            }
            return .json(JSONValue.object(["removed": .bool(removed)]))
        }
        router.add("GET", "/_sim/git/pulls") { request, state in
            let provider = request.query("provider") ?? ""
            let repository = request.query("repository") ?? ""
            let number = request.query("number") ?? ""
            let token = request.query("token") ?? ""
            let (comments, statuses, calls) = state.with { data in
                (
                    data.git.comments[pull(provider, repository, number)] ?? [],
                    data.git.statuses.filter { $0.key.hasPrefix("\(provider) \(repository.lowercased())@") },
                    data.git.calls[token] ?? []
                )
            }
            let commentValues: [JSONValue] = comments.map {
                .object(["id": .integer($0.id), "author": .string($0.author), "body": .string($0.body)])
            }
            var statusValues: [String: JSONValue] = [:]
            for (key, list) in statuses {
                let sha = String(key.split(separator: "@").last ?? "")
                statusValues[sha] = .array(
                    list.map { status -> JSONValue in
                        .object([
                            "context": .string(status.context), "state": .string(status.state),
                            "targetUrl": status.targetURL.map { .string($0) } ?? .null,
                            "description": status.description.map { .string($0) } ?? .null,
                        ])
                    })
            }
            return .json(
                JSONValue.object([
                    "comments": .array(commentValues), "statuses": .object(statusValues),
                    "calls": .array(calls.map { .string($0) }),
                ]))
        }
    }
}
