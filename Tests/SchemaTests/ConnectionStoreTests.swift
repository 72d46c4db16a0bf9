import Crypto
import Foundation
import Platform
import PlatformHost
import Postgres
import TestSupport
import Testing
import Vercel

/// The connection store on real Postgres: tokens sealed for their row, one connection per user
/// and team, revocation by configuration.
@Suite struct ConnectionStoreTests {
    let database: TestDatabase
    let db: PostgresConnection
    let store: ConnectionStore
    let user: UUID

    init() throws {
        database = try TestDatabase.create()
        db = database.connect()
        store = ConnectionStore(
            database: db, keyRing: try KeyRing(parsing: "k1:" + Base64URL.encode(try SecureRandom.bytes(32))))
        user = try db.query("INSERT INTO users (email) VALUES ('store@example.com') RETURNING id")[0].decode("id")
    }

    func grant(
        team: String? = nil, configuration: String? = "icfg_1", token: String = "vca_secret-token-value"
    ) -> ConnectionStore.Grant {
        .init(
            userID: user, teamID: team, teamName: team, vercelUserID: "vu1", email: "v@example.com",
            mode: "integration",
            configurationID: configuration, installationID: nil, accessToken: token, refreshToken: nil, expiresAt: nil,
            scopes: ["read:user"])
    }

    @Test func tokensAreSealedForTheirRowAndOpenOnlyThere() throws {
        defer { database.drop() }
        let first = try store.save(grant())
        let second = try store.save(grant(team: "team_1", token: "vca_other-token"))
        #expect(try store.credential(first).accessToken == "vca_secret-token-value")
        let stored = try db.query("SELECT access_token_sealed FROM vercel_connections WHERE id = \(first)")[0][
            "access_token_sealed"]!
        #expect(stored.hasPrefix("v1.k1.") && !stored.contains("secret-token"))
        // The same ciphertext copied to another row does not open there.
        try db.execute("UPDATE vercel_connections SET access_token_sealed = \(stored) WHERE id = \(second)")
        #expect(throws: CryptoError.authenticationFailed) { try store.credential(second) }
    }

    @Test func savingAgainUpdatesTheSameConnectionEvenConcurrently() async throws {
        defer { database.drop() }
        let database = self.database
        let user = self.user
        let keys = "k1:" + Base64URL.encode(try SecureRandom.bytes(32))
        let ids = try await withThrowingTaskGroup(of: UUID.self) { group in
            for index in 0..<8 {
                group.addTask {
                    let store = ConnectionStore(database: database.connect(), keyRing: try KeyRing(parsing: keys))
                    return try store.save(
                        .init(
                            userID: user, teamID: nil, teamName: nil, vercelUserID: "vu", email: nil,
                            mode: "integration", configurationID: nil,
                            installationID: nil, accessToken: "vca_token-\(index)", refreshToken: nil, expiresAt: nil,
                            scopes: []))
                }
            }
            return try await group.reduce(into: Set<UUID>()) { $0.insert($1) }
        }
        #expect(ids.count == 1)
        let opened = try ConnectionStore(database: db, keyRing: try KeyRing(parsing: keys)).credential(ids.first!)
            .accessToken
        #expect(opened.hasPrefix("vca_token-"))
    }

    @Test func removingTheIntegrationRevokesItsConnectionsOnly() throws {
        defer { database.drop() }
        let removed = try store.save(grant(configuration: "icfg_removed"))
        let kept = try store.save(grant(team: "team_2", configuration: "icfg_kept"))
        #expect(try store.markRevoked(configurationID: "icfg_removed") == [removed])
        #expect(try store.markRevoked(configurationID: "icfg_removed").isEmpty)
        let rows = try db.query(
            "SELECT id, status::text AS status, access_token_sealed FROM vercel_connections ORDER BY status")
        #expect(rows.first { $0["id"] == removed.uuidString.lowercased() }?["status"] == "revoked")
        #expect(rows.first { $0["id"] == removed.uuidString.lowercased() }?["access_token_sealed"] == nil)
        #expect(rows.first { $0["id"] == kept.uuidString.lowercased() }?["status"] == "connected")
        #expect(
            try db.query(
                "SELECT count(*) AS n FROM vercel_security_audit_log WHERE action = 'VERCEL_INTEGRATION_REMOVED'")[0][
                    "n"] == "1")
    }

    @Test func aPermissionUpgradeRaisesKnownScopesAndLeavesUnknownOnesUnknown() throws {
        defer { database.drop() }
        let known = try store.save(grant(configuration: "icfg_up"))
        var unknownGrant = grant(team: "team_u", configuration: "icfg_up")
        unknownGrant.scopes = nil
        let unknown = try store.save(unknownGrant)
        try store.grant([.writeDomain, .readUser], configurationID: "icfg_up")
        #expect(try store.credential(known).scopes == ["read:user", "read-write:domain"])
        #expect(try store.credential(unknown).scopes == nil)
        try store.grant([.readDomain], configurationID: "icfg_up")
        #expect(try store.credential(known).scopes == ["read:user", "read-write:domain"], "read is within read-write")
        try store.credential(known).require(.readDomain)
        #expect(
            try db.query(
                "SELECT count(*) AS n FROM vercel_security_audit_log WHERE action = 'VERCEL_PERMISSIONS_UPGRADED'")[0][
                    "n"] == "1")
    }

    @Test func aMissingScopeIsInsufficientScopeWithReconnect() throws {
        defer { database.drop() }
        let credential = try store.credential(try store.save(grant()))
        #expect(throws: PlatformError.insufficientScope("read-write:project-env-vars")) {
            try credential.require(.writeEnv)
        }
        try credential.require(.readUser)
        let error = PlatformError.insufficientScope("read-write:project-env-vars")
        #expect(error.status == 403 && error.code == "INSUFFICIENT_SCOPE")
        #expect(
            error.extraFields["requiredScope"] == "read-write:project-env-vars"
                && error.extraFields["action"] == "RECONNECT")
    }

    @Test func theCredentialIsTheNamedConnectionOrTheNewestConnectedOneInOneStatement() throws {
        defer { database.drop() }
        let personal = try store.save(grant())
        let team = try store.save(grant(team: "team_9", token: "vca_team-token"))
        let before = db.statementCount
        #expect(try store.credential(userID: user, connectionID: nil).id == team)
        #expect(db.statementCount == before + 1)
        #expect(try store.credential(userID: user, connectionID: personal).accessToken == "vca_secret-token-value")
        try store.disconnect(team)
        #expect(try store.credential(userID: user, connectionID: nil).id == personal)
        #expect(throws: ConnectionError.notConnected) { try store.credential(userID: user, connectionID: team) }
        #expect(throws: ConnectionError.notConnected) { try store.credential(userID: UUID(), connectionID: personal) }
    }
}
