// swift-tools-version:6.0
import PackageDescription

/// One FastCGI executable per endpoint group, one-shot jobs for cron, and the shared libraries they
/// stand on. The group executables live under `Functions/`, the libraries under `Sources/`.
let groups: [(target: String, folder: String)] = [
    ("OAuthFunction", "oauth"),
    ("WebhooksFunction", "webhooks"),
    ("DeploymentsFunction", "deployments"),
    ("EnvFunction", "env"),
    ("DomainsFunction", "domains"),
    ("BreakglassFunction", "breakglass"),
    ("OptimizationFunction", "optimization"),
]

let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")

var targets: [Target] = [
    .systemLibrary(name: "CFastCGI", path: "Sources/CFastCGI", pkgConfig: "fcgi"),
    .systemLibrary(name: "CPostgres", path: "Sources/CPostgres", pkgConfig: "libpq"),
    .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "libcrypto"),
    .systemLibrary(name: "CCurl", path: "Sources/CCurl", pkgConfig: "libcurl"),
    .target(name: "CFastCGIGuard", path: "Sources/CFastCGIGuard"),
    .target(name: "Crypto", dependencies: ["COpenSSL"], path: "Sources/Crypto"),
    .target(name: "Postgres", dependencies: ["CPostgres"], path: "Sources/Postgres"),
    // Whole cross-module optimization lets the host's generic pipeline specialize in each group.
    .target(
        name: "FastCGI", dependencies: ["CFastCGI", "CFastCGIGuard", logging], path: "Sources/FastCGI",
        swiftSettings: [.unsafeFlags(["-cross-module-optimization"], .when(configuration: .release))]),
    .target(name: "Platform", dependencies: ["FastCGI", "Postgres", "Crypto", "Vercel", logging], path: "Sources/Platform"),
    .target(name: "Vercel", dependencies: ["CCurl", "Postgres", "Crypto", logging], path: "Sources/Vercel"),
    .target(name: "Migrator", dependencies: ["Postgres", "Crypto"], path: "Sources/Migrator"),
    .executableTarget(name: "MigrateCommand", dependencies: ["Migrator"], path: "Functions/migrate"),
    .executableTarget(name: "VercelSimulator", dependencies: ["FastCGI", "Crypto", "Vercel", logging], path: "Functions/simulator"),
    .executableTarget(name: "UploadBench", dependencies: ["Vercel", logging], path: "Benchmarks/UploadBench"),
    .executableTarget(name: "FastCGIHello", dependencies: ["FastCGI"], path: "Benchmarks/FastCGIHello"),
    .testTarget(name: "CryptoTests", dependencies: ["Crypto"], path: "Tests/CryptoTests"),
    .testTarget(name: "FastCGITests", dependencies: ["FastCGI"], path: "Tests/FastCGITests"),
    .testTarget(name: "PlatformTests", dependencies: ["Platform", "FastCGI", "Crypto", "Postgres", "Vercel", logging], path: "Tests/PlatformTests"),
    .testTarget(name: "VercelTests", dependencies: ["Vercel", "TestSupport", "Postgres", "Crypto", logging], path: "Tests/VercelTests"),
    .target(name: "TestSupport", dependencies: ["Migrator", "Postgres", "Crypto"], path: "Tests/TestSupport"),
    .testTarget(name: "SchemaTests", dependencies: ["TestSupport", "Migrator", "Postgres", "Crypto", "Platform"], path: "Tests/SchemaTests"),
    .testTarget(name: "EndToEndTests", dependencies: ["TestSupport", "Crypto", "Postgres", "Vercel", "Platform", logging], path: "Tests/EndToEndTests"),
]
targets += groups.map { group in
    .executableTarget(name: group.target, dependencies: ["Platform", "FastCGI", "Postgres", "Vercel", "Crypto"], path: "Functions/\(group.folder)")
}

/// One-shot maintenance binaries, run by cron (`nginx/crontab`).
let jobs: [(target: String, folder: String)] = [
    ("NoncePruneJob", "nonce-prune"),
    ("PartitionsJob", "partitions"),
    ("TokenRefreshJob", "token-refresh"),
    ("WebhookRetryJob", "webhook-retry"),
    ("WebhookCleanupJob", "webhook-cleanup"),
]
targets += jobs.map { job in
    .executableTarget(name: job.target, dependencies: ["Platform", "Postgres", "Vercel", logging], path: "Functions/jobs/\(job.folder)")
}

var products: [Product] = [
    .executable(name: "vercel-migrate", targets: ["MigrateCommand"]),
    .executable(name: "fastcgi-hello", targets: ["FastCGIHello"]),
    .executable(name: "vercel-simulator", targets: ["VercelSimulator"]),
    .executable(name: "upload-bench", targets: ["UploadBench"]),
]
products += groups.map { .executable(name: "vercel-\($0.folder)", targets: [$0.target]) }
products += jobs.map { .executable(name: "vercel-job-\($0.folder)", targets: [$0.target]) }

let package = Package(
    name: "vercel-integration",
    platforms: [.macOS(.v15)],
    products: products,
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0")
    ],
    targets: targets
)
