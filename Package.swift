// swift-tools-version:6.0
import PackageDescription

/// One FastCGI executable per endpoint group, one-shot jobs for cron, and the shared libraries they
/// stand on. Each group's routes are a library (`Functions/<group>/Routes`) that its executable
/// (`Functions/<group>/Main`) serves and its tests call in process; the shared libraries live
/// under `Sources/`.
let groups: [(module: String, executable: String, folder: String)] = [
    ("OAuthGroup", "OAuthFunction", "oauth"),
    ("WebhooksGroup", "WebhooksFunction", "webhooks"),
    ("DeploymentsGroup", "DeploymentsFunction", "deployments"),
    ("EnvGroup", "EnvFunction", "env"),
    ("DomainsGroup", "DomainsFunction", "domains"),
    ("BreakglassGroup", "BreakglassFunction", "breakglass"),
    ("OptimizationGroup", "OptimizationFunction", "optimization"),
]

let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")
let groupModules = groups.map { Target.Dependency(stringLiteral: $0.module) }

var targets: [Target] = [
    .systemLibrary(name: "CFastCGI", path: "Sources/CFastCGI", pkgConfig: "fcgi"),
    .systemLibrary(name: "CPostgres", path: "Sources/CPostgres", pkgConfig: "libpq"),
    .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "libcrypto"),
    .systemLibrary(name: "CCurl", path: "Sources/CCurl", pkgConfig: "libcurl"),
    .systemLibrary(name: "CLibIDN2", path: "Sources/CLibIDN2", pkgConfig: "libidn2"),
    .target(name: "CFastCGIGuard", path: "Sources/CFastCGIGuard"),
    .target(name: "Crypto", dependencies: ["COpenSSL"], path: "Sources/Crypto"),
    // The shared vocabulary below everything else: JSON values, ISO 8601, query and header
    // encoding, and the outbound HTTP transport on libcurl.
    .target(name: "Kernel", dependencies: ["CCurl"], path: "Sources/Kernel"),
    .target(name: "Settings", dependencies: ["Crypto", logging], path: "Sources/Settings"),
    .target(name: "Postgres", dependencies: ["Kernel", "CPostgres"], path: "Sources/Postgres"),
    // Whole cross-module optimization lets the host's generic pipeline specialize in each group.
    .target(
        name: "FastCGI", dependencies: ["Kernel", "CFastCGI", "CFastCGIGuard", logging], path: "Sources/FastCGI",
        swiftSettings: [.unsafeFlags(["-cross-module-optimization"], .when(configuration: .release))]),
    // The domain, one folder per feature: stores, services and their pure logic. It knows nothing
    // of FastCGI: requests reach it through `PlatformHost`.
    .target(
        name: "Platform",
        dependencies: ["Kernel", "Settings", "Postgres", "Crypto", "Vercel", "CLibIDN2", logging],
        path: "Sources/Platform"),
    // How the domain is hosted: a group's executable and routes (`PlatformCall`, signatures,
    // health, metrics, errors as HTTP answers) and a cron job's `main`. With the host, the only
    // module that imports FastCGI.
    .target(
        name: "PlatformHost",
        dependencies: [
            "Kernel", "Settings", "FastCGI", "Postgres", "Crypto", "Vercel", "Platform", "Migrator", logging,
        ],
        path: "Sources/PlatformHost"),
    .target(name: "Vercel", dependencies: ["Kernel", "Crypto", logging], path: "Sources/Vercel"),
    .target(name: "Migrator", dependencies: ["Kernel", "Postgres", "Crypto"], path: "Sources/Migrator"),
    .executableTarget(
        name: "MigrateCommand", dependencies: ["Kernel", "Settings", "Migrator"], path: "Functions/migrate"),
    .executableTarget(
        name: "AuditCommand",
        dependencies: ["Kernel", "Settings", "Crypto", "Platform", "PlatformHost", "Postgres", "FastCGI"],
        path: "Functions/audit"),
    .executableTarget(
        name: "AdminCommand", dependencies: ["Kernel", "Settings", "Crypto", "Platform", "PlatformHost", "Postgres"],
        path: "Functions/admin"),
    .executableTarget(
        name: "KeyEscrowCommand", dependencies: ["Kernel", "Settings", "Crypto", "Postgres"],
        path: "Functions/keyescrow"),
    .executableTarget(
        name: "VercelSimulator", dependencies: ["Kernel", "Settings", "FastCGI", "Crypto", "Vercel", logging],
        path: "Functions/simulator"),
    .executableTarget(
        name: "DocsCommand", dependencies: ["Kernel", "Platform", "PlatformHost", "FastCGI"] + groupModules,
        path: "Functions/docs"),
    .executableTarget(
        name: "UploadBench", dependencies: ["Kernel", "Vercel", logging], path: "Benchmarks/UploadBench"),
    .executableTarget(name: "FastCGIHello", dependencies: ["Kernel", "FastCGI"], path: "Benchmarks/FastCGIHello"),
    .executableTarget(
        name: "EnvBench", dependencies: ["Kernel", "Platform", "Crypto", "Postgres", "Vercel", "TestSupport", logging],
        path: "Benchmarks/EnvBench"),
    .executableTarget(
        name: "LogsBench", dependencies: ["Kernel", "Crypto", "Postgres", "Vercel", "TestSupport", logging],
        path: "Benchmarks/LogsBench"),
    .executableTarget(
        name: "IsolationBench", dependencies: ["Kernel", "Crypto", "Postgres", "Vercel", "TestSupport", logging],
        path: "Benchmarks/IsolationBench"),
    .executableTarget(
        name: "RekeyBench", dependencies: ["Platform", "Crypto", "Postgres"], path: "Benchmarks/RekeyBench"),
    .testTarget(name: "CryptoTests", dependencies: ["Crypto"], path: "Tests/CryptoTests"),
    .testTarget(name: "FastCGITests", dependencies: ["Kernel", "FastCGI"], path: "Tests/FastCGITests"),
    .testTarget(
        name: "PlatformTests",
        dependencies: ["Kernel", "Platform", "PlatformHost", "FastCGI", "Crypto", "Postgres", "Vercel", logging],
        path: "Tests/PlatformTests"),
    .testTarget(
        name: "VercelTests",
        dependencies: ["Kernel", "Vercel", "TestSupport", "Postgres", "Platform", "Crypto", logging],
        path: "Tests/VercelTests"),
    .target(
        name: "TestSupport", dependencies: ["Kernel", "Migrator", "Postgres", "Crypto", "Vercel", "Platform", logging],
        path: "Tests/TestSupport"),
    .testTarget(
        name: "SchemaTests",
        dependencies: ["Kernel", "TestSupport", "Migrator", "Postgres", "Crypto", "Platform", "PlatformHost", logging],
        path: "Tests/SchemaTests"),
    .testTarget(
        name: "GroupTests",
        dependencies: [
            "Kernel", "TestSupport", "Platform", "PlatformHost", "FastCGI", "Postgres", "Vercel", "Crypto", logging,
        ] + groupModules,
        path: "Tests/GroupTests"),
    .testTarget(
        name: "EndToEndTests",
        dependencies: ["Kernel", "TestSupport", "Crypto", "Postgres", "Vercel", "Platform", logging],
        path: "Tests/EndToEndTests"),
]
for group in groups {
    targets.append(
        .target(
            name: group.module,
            dependencies: ["Kernel", "Platform", "PlatformHost", "FastCGI", "Vercel", "Crypto", logging],
            path: "Functions/\(group.folder)/Routes"))
    targets.append(
        .executableTarget(
            name: group.executable, dependencies: ["PlatformHost", .target(name: group.module)],
            path: "Functions/\(group.folder)/Main"))
}

/// The one-shot maintenance jobs, one executable (`vercel-job`) run through its links
/// `vercel-job-<name>` by the timers or cron: `Functions/jobs/<name>/`, dispatched by `Functions/jobs/main.swift`.
targets.append(
    .executableTarget(
        name: "Jobs", dependencies: ["Kernel", "Platform", "PlatformHost", "Postgres", "Vercel", logging],
        path: "Functions/jobs"))

var products: [Product] = [
    .executable(name: "vercel-migrate", targets: ["MigrateCommand"]),
    .executable(name: "vercel-audit", targets: ["AuditCommand"]),
    .executable(name: "vercel-keyescrow", targets: ["KeyEscrowCommand"]),
    .executable(name: "vercel-admin", targets: ["AdminCommand"]),
    .executable(name: "vercel-docs", targets: ["DocsCommand"]),
    .executable(name: "fastcgi-hello", targets: ["FastCGIHello"]),
    .executable(name: "vercel-simulator", targets: ["VercelSimulator"]),
    .executable(name: "upload-bench", targets: ["UploadBench"]),
    .executable(name: "rekey-bench", targets: ["RekeyBench"]),
    .executable(name: "env-bench", targets: ["EnvBench"]),
    .executable(name: "logs-bench", targets: ["LogsBench"]),
    .executable(name: "isolation-bench", targets: ["IsolationBench"]),
]
products += groups.map {
    .executable(name: "vercel-\($0.folder)", targets: [$0.executable])
}
products.append(.executable(name: "vercel-job", targets: ["Jobs"]))

let package = Package(
    name: "vercel-integration",
    platforms: [.macOS(.v15)],
    products: products,
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0")
    ],
    targets: targets
)
