import Crypto
import Foundation
import Kernel
import Postgres
import Vercel

/// For the benchmarks: a simulator account, a Vercel project of it, and a platform project linked
/// to it through a connection written straight to the database, its token sealed as the service
/// seals it (no OAuth round trip, which a benchmark does not measure).
public struct BenchLinkedProject {
    public let token: String
    public let user: UUID
    public let project: UUID
    public let connection: UUID
    public let vercelProject: VercelProject

    /// - Parameter settings: the Vercel project to create; its `gitRepository`, when given, is the
    ///   link's repository too (`org/repo`), so deploys from git work.
    public static func make(
        _ name: String, settings: VercelProjectSettings, simulator: String, database: PostgresConnection,
        ring: KeyRing, transport: any HTTPTransport, client: VercelClient
    ) throws -> BenchLinkedProject {
        let created = try transport.send(
            HTTPRequest(
                method: "POST", url: simulator + "/_sim/accounts", headers: [("Content-Type", "application/json")],
                body: Array(#"{"username":"\#(name)\#(UUID().uuidString.prefix(6))"}"#.utf8)))
        guard let account = try? JSONSerialization.jsonObject(with: Data(created.body)) as? [String: Any],
            let token = account["token"] as? String
        else { throw TestEnvironment.Missing(name: "a simulator account (\(created.status))") }
        let vercelProject = try client.createProject(settings, VercelClient.Credentials(accessToken: token))
        let user: UUID = try database.query(
            "INSERT INTO users (email) VALUES (\("bench-\(UUID())@example.com")) RETURNING id")[0].decode("id")
        let project: UUID = try database.query(
            "INSERT INTO projects (owner_id, name) VALUES (\(user), \(name)) RETURNING id")[0].decode("id")
        let connection = UUID()
        let sealedToken = try ring.seal(
            token,
            context: SealContext(
                table: "vercel_connections", column: "access_token_sealed", rowID: connection.uuidString.lowercased()))
        try database.execute(
            """
            INSERT INTO vercel_connections (id, user_id, account_type, access_token_sealed, token_key_id, token_expires_at, status)
            VALUES (\(connection), \(user), 'personal', \(sealedToken), \(ring.currentKeyID), now() + interval '1 day', 'connected')
            """)
        let repository = settings.gitRepository.map { git -> String in
            let parts = git.repo.split(separator: "/", maxSplits: 1).map(String.init)
            let fields = ["type": git.type, "repo": parts.last ?? git.repo, "org": parts.count == 2 ? parts[0] : nil]
            return String(
                decoding: try! JSONSerialization.data(withJSONObject: fields.compactMapValues { $0 }), as: UTF8.self)
        }
        try database.execute(
            """
            INSERT INTO vercel_project_mappings (project_id, vercel_connection_id, vercel_project_id, vercel_project_name, git_repository)
            VALUES (\(project), \(connection), \(vercelProject.id), \(vercelProject.name), \(repository)::jsonb)
            """)
        return BenchLinkedProject(
            token: token, user: user, project: project, connection: connection, vercelProject: vercelProject)
    }
}
