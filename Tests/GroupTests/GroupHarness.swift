import Crypto
import FastCGI
import Foundation
import Kernel
import Logging
@_spi(Host) import Platform
import PlatformHost
import Postgres
import Synchronization
import TestSupport
import Vercel

/// One group served in process, as a worker thread serves it: its routes over a `WorkerServices`
/// on a database of its own, with Vercel scripted. Requests are signed as the platform signs them
/// and go through `HTTPApplication.respond`, so the signature, nonce, caller and ownership checks
/// all run; each answer says how many statements its request sent to Postgres.
final class GroupHarness {
    static let apiBase = "https://api.vercel.test"

    let database: TestDatabase
    /// A connection for fixtures and checks, apart from the group's own.
    let db: PostgresConnection
    let secret: String
    let keyRing: KeyRing
    let vercel = ScriptedVercel()
    let configuration: ServiceConfiguration
    let application: HTTPApplication<WorkerServices>
    let context: WorkerServices
    /// The group's routes, to name the route each request reached in the ledger.
    let router: Router<WorkerServices>
    let groupName: String

    init(_ group: FunctionGroup, settings: [String: String] = [:]) throws {
        database = try TestDatabase.create()
        db = database.connect()
        secret = Base64URL.encode(try SecureRandom.bytes(36))
        let key = "k1:" + Base64URL.encode(try SecureRandom.bytes(32))
        keyRing = try KeyRing(parsing: key)
        var environment = [
            "DATABASE_URL": database.url, "SHEEN_HMAC_SECRET": secret, "TOKEN_ENCRYPTION_KEYS": key,
            "VERCEL_API_BASE_URL": Self.apiBase, "VERCEL_OAUTH_CLIENT_ID": "oac_test",
            "VERCEL_OAUTH_CLIENT_SECRET": "client-secret",
            "VERCEL_OAUTH_REDIRECT_URI": "https://service.test/v1/internal/vercel/oauth/callback",
            "VERCEL_INTEGRATION_SLUG": "sheen-test",
            "SHEEN_OAUTH_SUCCESS_URL": "https://platform.test/connected",
            "SHEEN_OAUTH_FAILURE_URL": "https://platform.test/failed",
            "SHEEN_BASE_URL": "https://service.test",
            "SHEEN_LOG_PUBLISH_URL": "http://logs.test/_logs/publish",
        ]
        environment.merge(settings) { $1 }
        configuration = try ServiceConfiguration.fromEnvironment(environment)
        router = group.router()
        groupName = group.name
        let vercel = self.vercel
        (application, context) = group.application(configuration: configuration, logger: Logger(label: group.name)) {
            vercel
        }
    }

    func drop() {
        context.database.close()
        db.close()
        database.drop()
    }

    // MARK: - fixtures

    func user(admin: Bool = false) throws -> UUID {
        try db.query(
            "INSERT INTO users (email, role) VALUES (\("u-\(UUID())@example.com"), \(admin ? "admin" : "user")) RETURNING id"
        )[0].decode("id")
    }

    func project(of owner: UUID) throws -> UUID {
        try db.query("INSERT INTO projects (owner_id, name) VALUES (\(owner), 'site') RETURNING id")[0].decode("id")
    }

    /// A connection of `user` holding `token`, saved as the OAuth routes save one.
    func connect(
        _ user: UUID, team: String? = nil, token: String = "vca_test-token", refreshToken: String? = nil,
        expiresAt: Date? = nil,
        scopes: [String]? = nil
    ) throws -> UUID {
        try ConnectionStore(database: db, keyRing: keyRing).save(
            .init(
                userID: user, teamID: team, teamName: team, vercelUserID: "vu_1", email: "v@example.com",
                mode: refreshToken == nil ? "integration" : "oauth_app", configurationID: "icfg_1", installationID: nil,
                accessToken: token, refreshToken: refreshToken, expiresAt: expiresAt, scopes: scopes))
    }

    /// Links `project` to `vercelProjectID` through `connection`, with a GitHub repository.
    @discardableResult
    func link(
        _ project: UUID, connection: UUID, vercelProjectID: String = "prj_1", productionBranch: String = "main",
        repository: LinkedProject.Repository = .init(type: "github", repo: "site", org: "acme", repoId: "42")
    ) throws -> UUID {
        try ProjectLinkStore(database: db).insert(
            .init(
                projectID: project, connectionID: connection, vercelProjectID: vercelProjectID,
                vercelProjectName: "site",
                framework: "nextjs", nodeVersion: "20.x", buildCommand: nil, outputDirectory: nil, installCommand: nil,
                devCommand: nil,
                rootDirectory: nil, productionBranch: productionBranch,
                repository: repository,
                environmentTargets: ["production", "preview"],
                autoDeploy: true, branchPatterns: []))
    }

    // MARK: - requests

    struct Answer {
        let response: Response
        let body: [UInt8]
        /// Statements the request sent to Postgres: its round trips.
        let statements: Int
        /// The id the request was served under.
        var requestID = ""

        var status: Int { response.status }
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
        var code: String? { json["code"] as? String }
        var text: String { String(decoding: body, as: UTF8.self) }

        func header(_ name: String) -> String? {
            response.headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    /// A request signed for `user`: `userId` joins the query of a GET or DELETE, the JSON body otherwise.
    func call(
        _ method: String, _ target: String, as user: UUID, json: [String: Any] = [:],
        headers extra: [String: String] = [:], documentURI: String? = nil
    ) throws -> Answer {
        var target = target
        var body = Data()
        if method == "GET" || method == "DELETE" {
            target += (target.contains("?") ? "&" : "?") + "userId=\(user.uuidString.lowercased())"
        } else {
            var fields = json
            fields["userId"] = user.uuidString.lowercased()
            body = try JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
        }
        var headers = PlatformSigner.headers(method, target, body: body, secret: secret)
        headers["content-type"] = "application/json"
        headers.merge(extra) { $1 }
        return send(method, target, body: Array(body), headers: headers, documentURI: documentURI)
    }

    /// A request as given, unsigned unless its headers say otherwise.
    /// (`documentURI`: nginx's location for it, as `DOCUMENT_URI` says.)
    func send(
        _ method: String, _ target: String, body: [UInt8] = [], headers: [String: String] = [:],
        documentURI: String? = nil
    ) -> Answer {
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var fields = HTTPHeaders()
        for (name, value) in headers { fields[name.lowercased()] = value }
        var request = Request(
            method: method, path: String(parts[0]), rawQuery: parts.count == 2 ? String(parts[1]) : "", headers: fields,
            body: body,
            requestID: RequestID.make())
        request.documentURI = documentURI
        let before = context.database.statementCount
        let response = application.respond(to: request)
        let statements = context.database.statementCount - before
        if case .found(let route, _) = router.match(method: method, path: request.path) {
            RouteLedger.record(group: groupName, method: route.method, pattern: route.pattern)
        }
        var answer: Answer
        switch response.body {
        case .bytes(let bytes):
            answer = Answer(response: response, body: bytes, statements: statements)
        case .stream(let produce):
            let sink = CollectingStream()
            try? produce(sink)
            answer = Answer(response: response, body: sink.bytes.withLock { $0 }, statements: statements)
        }
        answer.requestID = request.requestID
        if case .found(let route, _) = router.match(method: method, path: request.path) {
            AnswerLedger.record(method: route.method, pattern: route.pattern, answer: answer)
        }
        return answer
    }
}

/// What the routes answered in the in-process suites, one JSON line each (`method`, `pattern`,
/// `status`, `body`), appended to the file `TEST_ANSWER_LEDGER` names (when it names one), at most
/// a few per route, status and error code. `scripts/dev test` validates each against the contract
/// (docs/openapi.yaml), strictly: a field or error code the contract does not declare fails the run.
enum AnswerLedger {
    static let counts = Mutex<[String: Int]>([:])
    static let perKind = 5

    static func record(method: String, pattern: String, answer: GroupHarness.Answer) {
        guard let path = ProcessInfo.processInfo.environment["TEST_ANSWER_LEDGER"],
            answer.header("content-type")?.hasPrefix("application/json") == true,
            let body = try? JSONSerialization.jsonObject(with: Data(answer.body), options: [.fragmentsAllowed])
        else { return }
        let kind = "\(method) \(pattern) \(answer.status) \(answer.code ?? "")"
        guard
            counts.withLock({ counts in
                counts[kind, default: 0] += 1
                return counts[kind]! <= perKind
            })
        else { return }
        let entry: [String: Any] = ["method": method, "pattern": pattern, "status": answer.status, "body": body]
        guard let line = try? JSONSerialization.data(withJSONObject: entry, options: [.sortedKeys]) else { return }
        RouteLedger.append(line + Data("\n".utf8), to: path)
    }
}

/// The routes the in-process suites called, one `group method pattern` line each, appended to
/// the file `TEST_ROUTE_LEDGER` names (when it names one). `scripts/dev test` checks after the run
/// that every route of the README's table is there: no route goes without an in-process test.
enum RouteLedger {
    static let seen = Mutex<Set<String>>([])

    static func record(group: String, method: String, pattern: String) {
        guard let path = ProcessInfo.processInfo.environment["TEST_ROUTE_LEDGER"] else { return }
        let line = "\(group) \(method) \(pattern)"
        guard seen.withLock({ $0.insert(line).inserted }) else { return }
        append(Data((line + "\n").utf8), to: path)
    }

    static let writing = Mutex<Void>(())

    static func append(_ data: Data, to path: String) {
        writing.withLock { _ in
            guard let handle = FileHandle(forWritingAtPath: path) ?? create(path) else { return }
            defer { try? handle.close() }
            _ = try? handle.seekToEnd()
            try? handle.write(contentsOf: data)
        }
    }

    private static func create(_ path: String) -> FileHandle? {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        return FileHandle(forWritingAtPath: path)
    }
}

/// Collects what a streaming response writes.
final class CollectingStream: ResponseStream, Sendable {
    let bytes = Mutex<[UInt8]>([])

    func send(_ piece: [UInt8]) throws {
        bytes.withLock { $0 += piece }
    }
}

/// JSON of Vercel's objects, as the scripted Vercel answers.
enum VercelJSON {
    static func deployment(
        _ id: String, state: String, project: String = "prj_1", createdAt: Int64 = 1_790_000_000_000,
        ready: Int64? = nil,
        target: String? = nil
    ) -> String {
        var fields = [
            #""id":"\#(id)""#, #""url":"\#(id).vercel.app""#, #""name":"site""#, #""projectId":"\#(project)""#,
            #""readyState":"\#(state)""#, #""createdAt":\#(createdAt)"#,
            #""inspectorUrl":"https://vercel.com/acme/site/\#(id)""#,
        ]
        if let ready { fields.append(#""ready":\#(ready)"#) }
        if let target { fields.append(#""target":"\#(target)""#) }
        return "{" + fields.joined(separator: ",") + "}"
    }

    static let project = """
        {"id":"prj_1","name":"site","accountId":"acc_1","framework":"nextjs","nodeVersion":"20.x",
         "link":{"type":"github","repo":"site","org":"acme","repoId":42,"productionBranch":"main"}}
        """
}
