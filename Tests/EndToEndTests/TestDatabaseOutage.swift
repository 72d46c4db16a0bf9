import Postgres

/// Makes the stack's database refuse connections, and drops the ones it has, until `end()`.
struct TestDatabaseOutage {
    let admin: PostgresConnection

    init(admin url: String) throws {
        admin = PostgresConnection(.init(url: url))
    }

    func begin() throws {
        try admin.execute("ALTER DATABASE sheen_vercel ALLOW_CONNECTIONS false")
        try admin.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'sheen_vercel' AND pid <> pg_backend_pid()"
        )
    }

    func end() throws {
        try admin.execute("ALTER DATABASE sheen_vercel ALLOW_CONNECTIONS true")
    }
}
