import Crypto
import Kernel
import Logging
import Postgres
import Vercel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What developers see on their pull requests: one comment per pull request (and platform owner)
/// with a row per project deployed from it, edited in place, and a commit status per project on
/// the head commit. One unit of work is a pull request (or a pushed commit, for its statuses);
/// it renders what is stored now, so a burst of changes is one comment edit with the last state,
/// and no older state can overwrite a newer one.
public struct GitFeedback {
    let database: PostgresConnection
    let keyRing: KeyRing
    let hosts: GitHostSettings
    let transport: any HTTPTransport
    let logger: Logger

    public init(
        database: PostgresConnection, keyRing: KeyRing, hosts: GitHostSettings, transport: any HTTPTransport,
        logger: Logger
    ) {
        self.database = database
        self.keyRing = keyRing
        self.hosts = hosts
        self.transport = transport
        self.logger = logger
    }

    /// The hidden line that marks this service's comment.
    public static let marker = "<!-- sheen-vercel:deployments -->"

    /// A pull request (or commit) to bring up to date, as the queue names it.
    public struct Unit: Codable, Sendable {
        public let ownerId: UUID
        public let provider: String
        public let repository: String
        public let prNumber: Int?
        public let commitSha: String
        public let version: Int64
    }

    public enum Outcome: Equatable {
        /// Up to date: how many calls were made.
        case done(calls: Int)
        /// Try again after this many seconds (a rate limit, or the provider failing).
        case retry(afterSeconds: Int?, reason: String)
        /// The token is refused or the repository gone: no retry helps; an alert asks to reconnect.
        case refused(reason: String)
    }

    /// One project's latest deployment for the unit.
    struct Row {
        let projectID: UUID
        let projectName: String
        let deploymentID: String
        let state: DeploymentState
        let url: String?
        let inspectURL: String?
        let errorStep: String?
        let updatedAt: Date
        let sha: String
        let credentialID: UUID
        let tokenSealed: String
    }

    public func run(_ unit: Unit) throws -> Outcome {
        guard let provider = GitProvider(rawValue: unit.provider) else { return .done(calls: 0) }
        let subject = unit.prNumber.map { "pr:\($0)" } ?? "commit:\(unit.commitSha)"
        let lock = "vercel.git-feedback:\(unit.ownerId):\(provider.rawValue):\(unit.repository.lowercased()):\(subject)"
        return try database.withAdvisoryLock(lock) { try bringUpToDate(unit, provider) }
    }

    func bringUpToDate(_ unit: Unit, _ provider: GitProvider) throws -> Outcome {
        let rows = try latest(unit)
        guard let first = rows.first else { return .done(calls: 0) }
        let token = try keyRing.open(
            first.tokenSealed,
            context: SealContext(
                table: "vercel_git_provider_credentials", column: "access_token_sealed",
                rowID: first.credentialID.uuidString.lowercased()))
        let client = GitHostClient(provider: provider, baseURL: baseURL(provider), token: token, transport: transport)
        var calls = 0
        do {
            for row in rows { calls += try sendStatus(row, unit, client) }
            if let number = unit.prNumber { calls += try sendComment(rows, unit, number, client) }
        } catch let failure as GitHostClient.Failure {
            switch failure {
            case .rateLimited(let seconds):
                return .retry(afterSeconds: seconds, reason: "\(provider.rawValue) rate limit: retry in \(seconds) s")
            case .tokenRefused(let status):
                return .refused(reason: "\(provider.rawValue) refused the repository's token (\(status))")
            case .notFound:
                return .refused(reason: "\(provider.rawValue) does not find the repository or pull request")
            case .failed(let reason):
                return .retry(afterSeconds: nil, reason: reason)
            }
        }
        return .done(calls: calls)
    }

    func baseURL(_ provider: GitProvider) -> String {
        switch provider {
        case .github: hosts.githubAPIURL
        case .gitlab: hosts.gitlabAPIURL
        case .bitbucket: hosts.bitbucketAPIURL
        }
    }

    /// The newest deployment of each of the owner's projects built from the pull request (or the
    /// pushed commit), with the repository's token; projects sorted by name.
    func latest(_ unit: Unit) throws -> [Row] {
        let rows = try database.query(
            """
            SELECT DISTINCT ON (d.project_id) d.project_id, p.name, d.deployment_id, d.deployment_state::text AS state,
              d.deployment_url, d.build_logs_url, d.error_step, d.updated_at, d.git_source->>'commitSha' AS sha,
              c.id AS credential_id, c.access_token_sealed
            FROM vercel_deployments d
            JOIN projects p ON p.id = d.project_id
            JOIN vercel_git_provider_credentials c ON c.project_id = d.project_id AND c.provider = \(unit.provider)
              AND lower(c.repository) = lower(\(unit.repository)) AND c.access_token_sealed IS NOT NULL
            WHERE p.owner_id = \(unit.ownerId) AND d.git_source->>'provider' = \(unit.provider)
              AND lower(d.git_source->>'repository') = lower(\(unit.repository))
              AND CASE WHEN \(unit.prNumber)::int IS NULL
                    THEN d.git_source->>'commitSha' = \(unit.commitSha) AND NOT d.git_source ? 'prNumber'
                    ELSE d.git_source ? 'prNumber' AND d.git_source->>'prNumber' = \(unit.prNumber.map { "\($0)" }) END
            ORDER BY d.project_id, d.created_at DESC
            """)
        return try rows.map { row in
            Row(
                projectID: try row.decode("project_id"), projectName: try row.decode("name"),
                deploymentID: try row.decode("deployment_id"),
                state: DeploymentState(rawValue: try row.decode("state")) ?? .queued, url: row["deployment_url"],
                inspectURL: row["build_logs_url"], errorStep: row["error_step"],
                updatedAt: try row.decode("updated_at"),
                sha: try row.decode("sha"), credentialID: try row.decode("credential_id"),
                tokenSealed: try row.decode("access_token_sealed"))
        }.sorted { ($0.projectName, $0.projectID.uuidString) < ($1.projectName, $1.projectID.uuidString) }
    }

    // MARK: Statuses

    static func status(of row: Row) -> (state: GitHostClient.StatusState, description: String) {
        switch row.state {
        case .ready: (.success, "Preview ready")
        case .error: (.failure, "Build failed" + (row.errorStep.map { " at \($0.lowercased())" } ?? ""))
        case .canceled: (.failure, "Deployment canceled")
        default: (.pending, "Deployment in progress")
        }
    }

    /// Sends the row's commit status unless the same one was sent; 1 when a call was made.
    func sendStatus(_ row: Row, _ unit: Unit, _ client: GitHostClient) throws -> Int {
        guard AutoDeployStore.isValidSha(row.sha) else { return 0 }
        let (state, description) = Self.status(of: row)
        let sent = try database.query(
            """
            SELECT 1 FROM vercel_git_commit_statuses
            WHERE project_id = \(row.projectID) AND commit_sha = \(row.sha) AND state = \(state.rawValue)
              AND deployment_id = \(row.deploymentID)
            """)
        guard sent.isEmpty else { return 0 }
        let url = state == .success ? Self.safeURL(row.url) : Self.safeURL(row.inspectURL) ?? Self.safeURL(row.url)
        try client.setStatus(
            repository: unit.repository, sha: row.sha, context: "sheen/\(Self.plain(row.projectName, limit: 80))",
            key: "sheen-" + String(Digest.sha256Hex(row.projectID.uuidString.lowercased()).prefix(34)), state: state,
            url: url, description: description)
        try database.execute(
            """
            INSERT INTO vercel_git_commit_statuses (project_id, commit_sha, state, deployment_id)
            VALUES (\(row.projectID), \(row.sha), \(state.rawValue), \(row.deploymentID))
            ON CONFLICT (project_id, commit_sha) DO UPDATE SET state = EXCLUDED.state,
              deployment_id = EXCLUDED.deployment_id, sent_at = now()
            """)
        return 1
    }

    // MARK: The comment

    /// The comment for `rows`: the marker, then a row per project.
    static func render(_ rows: [Row]) -> String {
        var lines = [
            marker, "**Deployments** (updated by Sheen)", "",
            "| Project | Status | Preview | Inspect | Updated (UTC) |", "| :--- | :--- | :--- | :--- | :--- |",
        ]
        for row in rows {
            let status: String =
                switch row.state {
                case .ready: "✅ Ready"
                case .error: "❌ Failed" + (row.errorStep.map { " (\($0.lowercased()))" } ?? "")
                case .canceled: "⏹ Canceled"
                default: "⏳ Building"
                }
            let preview = row.state == .ready ? safeURL(row.url).map { "[Visit preview](\($0))" } ?? "—" : "—"
            let inspect = safeURL(row.inspectURL).map { "[Inspect](\($0))" } ?? "—"
            lines.append(
                "| \(markdown(row.projectName)) | \(status) | \(preview) | \(inspect) | \(String(ISO8601.format(row.updatedAt).prefix(16)).replacing("T", with: " ")) |"
            )
        }
        return lines.joined(separator: "\n")
    }

    /// Sends the comment unless its text did not change; the number of calls made.
    func sendComment(_ rows: [Row], _ unit: Unit, _ number: Int, _ client: GitHostClient) throws -> Int {
        let body = Self.render(rows)
        let hash = Digest.sha256Hex(body)
        let stored = try database.query(
            """
            SELECT comment_id, comment_author, body_sha256 FROM vercel_git_pr_comments
            WHERE owner_id = \(unit.ownerId) AND provider = \(unit.provider) AND lower(repository) = lower(\(unit.repository))
              AND pr_number = \(number)
            """
        ).first
        if let stored, stored["comment_id"] != nil, stored["body_sha256"] == hash { return 0 }
        var calls = 0
        var comment: GitHostClient.Comment?
        if let id = stored?["comment_id"] {
            calls += 1
            let edited = Result { () throws(GitHostClient.Failure) -> GitHostClient.Comment in
                try client.updateComment(repository: unit.repository, pullRequest: number, id: id, body: body)
            }
            switch edited {
            case .success(let made): comment = made
            // Deleted by a person: made again below.
            case .failure(.notFound): comment = nil
            case .failure(let failure): throw failure
            }
        } else {
            // The id is not stored (lost): find the comment by its marker and author first.
            let me = try client.whoAmI()
            let existing = try client.comments(repository: unit.repository, pullRequest: number)
            calls += 2
            if let mine = existing.first(where: { $0.author == me && $0.body.hasPrefix(Self.marker) }) {
                calls += 1
                comment = try client.updateComment(
                    repository: unit.repository, pullRequest: number, id: mine.id, body: body)
            }
        }
        if comment == nil {
            calls += 1
            comment = try client.createComment(repository: unit.repository, pullRequest: number, body: body)
        }
        guard let comment else { return calls }
        try database.execute(
            """
            INSERT INTO vercel_git_pr_comments (owner_id, provider, repository, pr_number, comment_id, comment_author, body_sha256)
            VALUES (\(unit.ownerId), \(unit.provider), \(unit.repository), \(number), \(comment.id), \(comment.author), \(hash))
            ON CONFLICT (owner_id, provider, lower(repository), pr_number) DO UPDATE SET comment_id = EXCLUDED.comment_id,
              comment_author = coalesce(EXCLUDED.comment_author, vercel_git_pr_comments.comment_author),
              body_sha256 = EXCLUDED.body_sha256, updated_at = now()
            """)
        return calls
    }

    // MARK: Text

    /// An https URL without characters that could end a markdown link; nil otherwise.
    static func safeURL(_ url: String?) -> String? {
        guard let url, url.hasPrefix("https://"), url.utf8.count <= 2048,
            url.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != 0x28 && $0 != 0x29 && $0 != 0x3c && $0 != 0x3e })
        else { return nil }
        return url
    }

    /// A name as markdown text: no line breaks, and every character markdown or HTML could read
    /// escaped, so a project name cannot add links, images or markup to the comment.
    static func markdown(_ text: String) -> String {
        var out = ""
        for character in plain(text, limit: 100) {
            switch character {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case _ where "\\`*_{}[]()#+-.!|~&".contains(character):
                out.append("\\")
                out.append(character)
            default: out.append(character)
            }
        }
        return out
    }

    /// One line of at most `limit` characters.
    static func plain(_ text: String, limit: Int) -> String {
        String(text.map { $0.isNewline || $0.asciiValue.map { $0 < 0x20 } == true ? " " : $0 }.prefix(limit))
    }
}
