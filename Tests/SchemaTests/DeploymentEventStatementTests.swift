import Crypto
import Dispatch
import Foundation
import Logging
import Platform
import Postgres
import Synchronization
import TestSupport
import Testing

/// A deployment event is one statement (`vercel_receive_deployment_event`, migration 113): its
/// lifecycle decision is DeploymentState's, it is one round trip, and events of one deployment
/// arriving at once on many connections are decided on the locked row. The jobs it queues are
/// counted by the kinds the Swift side names (`DeploymentStore.finalizeKind`,
/// `DeploymentCheckStore.jobKind`), which the function spells out.
@Suite struct DeploymentEventStatementTests {
    let database: TestDatabase
    let db: PostgresConnection

    init() throws {
        database = try TestDatabase.create()
        db = database.connect()
    }

    static let vercelProject = "prj_statement"

    func link() throws {
        let owner: UUID = try db.query("INSERT INTO users (email) VALUES ('statement@example.com') RETURNING id")[0]
            .decode("id")
        let project: UUID = try db.query(
            "INSERT INTO projects (owner_id, name) VALUES (\(owner), 'statement') RETURNING id")[0].decode("id")
        let connection: UUID = try db.query(
            "INSERT INTO vercel_connections (user_id, account_type, access_token_sealed) VALUES (\(owner), 'personal', 'v1.k.iv.ct') RETURNING id"
        )[0].decode("id")
        try db.execute(
            """
            INSERT INTO vercel_project_mappings (project_id, vercel_connection_id, vercel_project_id)
            VALUES (\(project), \(connection), \(Self.vercelProject))
            """)
    }

    static func body(_ type: String, deployment: String, event: String, at milliseconds: Int) -> [UInt8] {
        Array(
            """
            {"createdAt":\(milliseconds),"id":"\(event)","payload":{"deployment":{"id":"\(deployment)","meta":{},\
            "name":"statement","url":"statement.vercel.app"},"project":{"id":"\(vercelProject)"},"target":null},\
            "region":"iad1","type":"\(type)"}
            """.utf8)
    }

    static func processor(_ connection: PostgresConnection) throws -> WebhookProcessor {
        WebhookProcessor(
            database: connection,
            keyRing: try KeyRing(parsing: "k1:" + Base64URL.encode([UInt8](repeating: 7, count: 32))),
            logger: Logger(label: "test"))
    }

    @Test func theDecisionInTheDatabaseIsDeploymentStatesForEveryPair() throws {
        defer { database.drop() }
        for stored in DeploymentState.allCases {
            for reported in DeploymentState.allCases {
                let answer: String = try db.query(
                    "SELECT vercel_deploy_decision(\(stored.rawValue)::vercel_deploy_state, \(reported.rawValue)::vercel_deploy_state) AS d"
                )[0].decode("d")
                let expected =
                    switch stored.decide(reported) {
                    case .apply: "apply"
                    case .keep: "keep"
                    case .reject: "reject"
                    }
                #expect(answer == expected, "\(stored) → \(reported)")
            }
        }
    }

    @Test func aDeploymentEventIsOneStatementAndADuplicateChangesNothing() throws {
        defer { database.drop() }
        try link()
        let processor = try Self.processor(db)
        let created = Self.body("deployment.created", deployment: "dpl_one", event: "evt_one_1", at: 1_790_000_000_000)
        let before = db.statementCount
        let outcome = try processor.receive(WebhookEvent.decode(created)!, body: created)
        #expect(outcome == .applied)
        #expect(db.statementCount - before == 1)

        let succeeded = Self.body(
            "deployment.succeeded", deployment: "dpl_one", event: "evt_one_2", at: 1_790_000_060_000)
        let next = db.statementCount
        #expect(try processor.receive(WebhookEvent.decode(succeeded)!, body: succeeded) == .applied)
        #expect(db.statementCount - next == 1)
        #expect(try processor.receive(WebhookEvent.decode(succeeded)!, body: succeeded) == .duplicate)

        let row = try db.query(
            """
            SELECT deployment_state::text AS state, build_duration_ms, completed_at IS NOT NULL AS completed,
              (SELECT count(*) FROM vercel_jobs WHERE kind = \(DeploymentStore.finalizeKind) AND dedup_key = 'dpl_one') AS finalize,
              (SELECT count(*) FROM vercel_jobs WHERE kind = \(DeploymentCheckStore.jobKind) AND dedup_key = 'register:dpl_one') AS register,
              (SELECT count(*) FROM vercel_webhook_dedup WHERE deployment_id = 'dpl_one' AND processing_ms IS NOT NULL) AS timed
            FROM vercel_deployments WHERE deployment_id = 'dpl_one'
            """)[0]
        #expect(try row.decode("state", as: String.self) == "READY")
        #expect(try row.decode("build_duration_ms", as: Int.self) == 60_000)
        #expect(try row.decode("completed", as: Bool.self))
        #expect(try row.decode("finalize", as: Int.self) == 1)
        #expect(try row.decode("register", as: Int.self) == 1)
        #expect(try row.decode("timed", as: Int.self) == 2)

        // A move the lifecycle refuses is counted, not applied.
        let canceled = Self.body(
            "deployment.canceled", deployment: "dpl_one", event: "evt_one_3", at: 1_790_000_070_000)
        #expect(try processor.receive(WebhookEvent.decode(canceled)!, body: canceled) == .applied)
        let error = Self.body("deployment.error", deployment: "dpl_one", event: "evt_one_4", at: 1_790_000_080_000)
        #expect(try processor.receive(WebhookEvent.decode(error)!, body: error) == .rejected)
        let after = try db.query(
            "SELECT deployment_state::text AS state, invalid_transitions FROM vercel_deployments WHERE deployment_id = 'dpl_one'"
        )[0]
        #expect(try after.decode("state", as: String.self) == "CANCELED")
        #expect(try after.decode("invalid_transitions", as: Int.self) == 1)
    }

    @Test func anEventOfAProjectNotLinkedIsQueuedInTheSameStatement() throws {
        defer { database.drop() }
        let processor = try Self.processor(db)
        let created = Self.body(
            "deployment.created", deployment: "dpl_later", event: "evt_later", at: 1_790_000_000_000)
        let before = db.statementCount
        #expect(try processor.receive(WebhookEvent.decode(created)!, body: created) == .queued)
        #expect(db.statementCount - before == 1)
        let queued: String = try db.query(
            "SELECT payload->>'body' AS body FROM vercel_jobs WHERE kind = 'webhook.apply'")[0].decode("body")
        #expect(queued == String(decoding: created, as: UTF8.self))
        #expect(try db.query("SELECT 1 FROM vercel_deployments").isEmpty)

        try link()
        #expect(try processor.applyQueued(created) == .applied)
        #expect(
            try db.query(
                "SELECT deployment_state::text AS s FROM vercel_deployments WHERE deployment_id = 'dpl_later'")[0]
                .decode("s", as: String.self) == "QUEUED")
    }

    /// Every deployment's created, building and succeeded events sent at once from three connections:
    /// each ends READY with one finalization and no move refused, whichever event came first.
    @Test func eventsOfOneDeploymentAtOnceAreDecidedOnTheLockedRow() throws {
        defer { database.drop() }
        try link()
        let deployments = 40
        let types = ["deployment.created", "deployment.building", "deployment.succeeded"]
        let failures = Mutex<[String]>([])
        let database = self.database
        DispatchQueue.concurrentPerform(iterations: types.count) { lane in
            let connection = database.connect()
            do {
                let processor = try Self.processor(connection)
                for index in 0..<deployments {
                    let body = Self.body(
                        types[lane], deployment: "dpl_race_\(index)", event: "evt_race_\(index)_\(lane)",
                        at: 1_790_000_000_000 + lane * 1000)
                    let outcome = try processor.receive(WebhookEvent.decode(body)!, body: body)
                    if outcome != .applied && outcome != .ignored {
                        failures.withLock { $0.append("\(types[lane]) \(index): \(outcome)") }
                    }
                }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        let summary = try db.query(
            """
            SELECT count(*) FILTER (WHERE deployment_state = 'READY') AS ready, sum(invalid_transitions) AS refused,
              (SELECT count(*) FROM vercel_jobs WHERE kind = \(DeploymentStore.finalizeKind)) AS finalize
            FROM vercel_deployments WHERE deployment_id LIKE 'dpl_race_%'
            """)[0]
        #expect(try summary.decode("ready", as: Int.self) == deployments)
        #expect(try summary.decode("refused", as: Int.self) == 0)
        #expect(try summary.decode("finalize", as: Int.self) == deployments)
    }
}
