import Foundation

/// The test stack's Postgres server itself, stopped and started as an operator would (pg_ctl, as
/// the `postgres` user when the tests run as root), with the options `scripts/dev` started it
/// with. Only for suites that run alone.
public enum TestCluster {
    static func pgCtl() throws -> String {
        let versions = try FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")
            .sorted { $0.compare($1, options: .numeric) == .orderedAscending }
        guard let newest = versions.last else {
            throw TestEnvironment.Missing(name: "a PostgreSQL server under /usr/lib/postgresql")
        }
        return "/usr/lib/postgresql/\(newest)/bin/pg_ctl"
    }

    /// Runs pg_ctl with stdio on /dev/null and waits for it with waitpid: the server it starts
    /// lives on, and must not hold anything the test waits on.
    static func run(_ arguments: [String]) throws {
        var command = [try pgCtl()] + arguments
        if getuid() == 0 { command = ["/usr/sbin/runuser", "-u", "postgres", "--"] + command }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd in Int32(0)...2 {
            posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0)
        }
        let argv = command.map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, command[0], &actions, nil, argv, environ) == 0 else {
            throw TestEnvironment.Missing(name: "pg_ctl to start")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        guard status == 0 else {
            throw TestEnvironment.Missing(name: "pg_ctl \(arguments.first ?? "") to succeed (status \(status))")
        }
    }

    public static func stop() throws {
        try run(["stop", "-D", try TestEnvironment.require("TEST_PG_DATA"), "-m", "fast", "-w"])
    }

    public static func start() throws {
        let data = try TestEnvironment.require("TEST_PG_DATA")
        try run([
            "start", "-D", data, "-w", "-t", "60", "-l", data + "/server.log", "-o",
            try TestEnvironment.require("TEST_PG_OPTIONS"),
        ])
    }
}
