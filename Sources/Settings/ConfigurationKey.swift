/// One environment variable the service reads: its name, its default, what it means and which
/// programs read it. `ConfigurationKey.all` is the whole catalogue; the README's configuration table
/// is rendered from it (`vercel-docs configuration`), so the two cannot drift.
public struct ConfigurationKey: Sendable, Hashable {
    public let name: String
    /// The value used when the variable is unset or empty; nil when there is none.
    public let defaultValue: String?
    /// Whether a program that reads it refuses to start without it.
    public let isRequired: Bool
    /// Who reads it: `every group`, a group's name, `jobs`, `migrate` or `simulator`.
    public let readBy: String
    public let meaning: String

    init(_ name: String, default defaultValue: String? = nil, required: Bool = false, readBy: String, _ meaning: String)
    {
        self.name = name
        self.defaultValue = defaultValue
        self.isRequired = required
        self.readBy = readBy
        self.meaning = meaning
    }
}

extension ConfigurationKey {
    public static let databaseURL = ConfigurationKey(
        "DATABASE_URL", required: true, readBy: "every group, jobs, migrate", "Postgres connection URL")
    public static let statementTimeout = ConfigurationKey(
        "DATABASE_STATEMENT_TIMEOUT_MS", default: "5000", readBy: "every group",
        "how long one statement may run before Postgres cancels it (100 to 600000)")
    public static let platformSecret = ConfigurationKey(
        "SHEEN_HMAC_SECRET", required: true, readBy: "every group",
        "the platform's request-signing secret, used as raw UTF-8 bytes (at least 32)")
    public static let acceptLegacySignatures = ConfigurationKey(
        "SHEEN_ACCEPT_V1", default: "0", readBy: "every group",
        "`1` also accepts the legacy v1 signature (HMAC of timestamp + body)")
    public static let encryptionKeys = ConfigurationKey(
        "TOKEN_ENCRYPTION_KEYS", required: true, readBy: "every group, jobs",
        "`kid:base64key,...` (32-byte keys); the first seals, all open")
    public static let logLevel = ConfigurationKey(
        "LOG_LEVEL", default: "info", readBy: "every group, jobs",
        "`trace`, `debug`, `info`, `notice`, `warning`, `error` or `critical`")
    public static let faultRoutes = ConfigurationKey(
        "SHEEN_ENABLE_FAULT_ROUTES", default: "0", readBy: "every group",
        "`1` adds `/healthz/<group>/fault/…` routes that fail on purpose, for tests; never in production")
    public static let refusalLog = ConfigurationKey(
        "SHEEN_NGINX_REFUSAL_LOG", default: "/var/log/sheen-vercel/refusals.log", readBy: "every group",
        "the JSON lines nginx writes for each request it answers itself (`deploy/nginx`), counted on the host's `/metrics/host`"
    )
    public static let vercelAPIBaseURL = ConfigurationKey(
        "VERCEL_API_BASE_URL", default: "https://api.vercel.com", readBy: "every group, jobs",
        "Vercel's REST API (the simulator locally)")
    public static let vercelAuthMode = ConfigurationKey(
        "VERCEL_AUTH_MODE", default: "integration", readBy: "every group, jobs",
        "`integration` (the integration install, long-lived tokens) or `oauth_app` (PKCE, refresh tokens)")
    public static let vercelClientID = ConfigurationKey(
        "VERCEL_OAUTH_CLIENT_ID", required: true, readBy: "every group, jobs, simulator",
        "the integration's (or OAuth app's) client id")
    public static let vercelClientSecret = ConfigurationKey(
        "VERCEL_OAUTH_CLIENT_SECRET", required: true, readBy: "every group, jobs, simulator",
        "the integration's (or OAuth app's) client secret")
    public static let vercelRedirectURI = ConfigurationKey(
        "VERCEL_OAUTH_REDIRECT_URI", required: true, readBy: "every group, jobs, simulator",
        "this service's callback, `…/v1/internal/vercel/oauth/callback`")
    public static let vercelIntegrationSlug = ConfigurationKey(
        "VERCEL_INTEGRATION_SLUG", default: "", readBy: "oauth, simulator", "the integration's slug on Vercel")
    public static let vercelIntegrationInstallURL = ConfigurationKey(
        "VERCEL_INTEGRATION_INSTALL_URL", default: "https://vercel.com/integrations/<slug>/new", readBy: "oauth",
        "where the integration install flow starts")
    public static let vercelAuthorizeURL = ConfigurationKey(
        "VERCEL_OAUTH_AUTHORIZE_URL", default: "https://vercel.com/oauth/authorize", readBy: "oauth",
        "where the OAuth app flow starts")
    public static let vercelTokenURL = ConfigurationKey(
        "VERCEL_OAUTH_TOKEN_URL", default: "<api>/login/oauth/token", readBy: "every group, jobs",
        "the OAuth app's token endpoint")
    public static let vercelRevokeURL = ConfigurationKey(
        "VERCEL_OAUTH_REVOKE_URL", default: "<api>/login/oauth/token/revoke", readBy: "every group, jobs",
        "the OAuth app's token revocation endpoint")
    public static let vercelWebhookSecrets = ConfigurationKey(
        "VERCEL_WEBHOOK_SECRETS", default: "the client secret", readBy: "webhooks",
        "comma-separated secrets webhook signatures are checked against, so one can rotate out")
    public static let oauthSuccessURL = ConfigurationKey(
        "SHEEN_OAUTH_SUCCESS_URL", required: true, readBy: "every group, jobs",
        "the platform page the browser returns to after connecting; `redirectUri` of initiate must share its origin")
    public static let oauthFailureURL = ConfigurationKey(
        "SHEEN_OAUTH_FAILURE_URL", required: true, readBy: "every group, jobs",
        "the platform page the browser returns to on failure")
    public static let oauthConfirmation = ConfigurationKey(
        "SHEEN_OAUTH_CONFIRMATION", default: "required", readBy: "oauth",
        "`required`: a connection waits for the platform's confirm call; `off`: stored at the callback")
    public static let projectsRoot = ConfigurationKey(
        "SHEEN_PROJECTS_ROOT", readBy: "deployments",
        "where the platform keeps its projects' files (`<root>/<projectId>`): framework detection and deploys from disk; unset, both are off"
    )
    public static let baseURL = ConfigurationKey(
        "SHEEN_BASE_URL", default: "", readBy: "deployments",
        "this service's public base URL (the `webhookUrl` a link returns)")
    public static let maxLogPumps = ConfigurationKey(
        "SHEEN_MAX_LOG_PUMPS", default: "64", readBy: "deployments",
        "build log pumps one process runs at once (1 to 1024): each reads one deployment's events from Vercel and publishes them to nginx, however many read them"
    )
    public static let logPublishURL = ConfigurationKey(
        "SHEEN_LOG_PUBLISH_URL", default: "http://127.0.0.1:9180/_logs/publish", readBy: "deployments",
        "nginx's loopback Nchan publisher the pumps post build events to (`<url>/<deploymentId>`)")
    public static let productionBranchTTL = ConfigurationKey(
        "SHEEN_PRODUCTION_BRANCH_TTL_SECONDS", default: "60", readBy: "deployments",
        "how long the production branch read from Vercel is trusted before a production deploy or promotion reads it again (0 to 3600)"
    )
    public static let deploymentProbeVia = ConfigurationKey(
        "SHEEN_DEPLOYMENT_PROBE_VIA", default: "", readBy: "deployments, jobs",
        "dev and tests only: the loopback `address:port` (the simulator) every smoke check reaches deployment hosts at, over plain http; refused when Vercel's API is Vercel's. Unset, probes go to the deployment's host over https, public addresses only"
    )
    public static let staleDeploymentMinutes = ConfigurationKey(
        "SHEEN_STALE_DEPLOYMENT_MINUTES", default: "15", readBy: "jobs",
        "a deployment in progress this long without news (a lost webhook) is read from Vercel again (1 to 1440)")
    public static let deployAttemptGrace = ConfigurationKey(
        "SHEEN_DEPLOY_ATTEMPT_GRACE_SECONDS", default: "120", readBy: "jobs",
        "a deployment begun this long ago and not recorded (no answer from Vercel, a crash) is looked for at Vercel by the sync job, and recorded or cancelled (0 to 3600)"
    )
    public static let vercelCallsPerConnection = ConfigurationKey(
        "SHEEN_VERCEL_CALLS_PER_CONNECTION", default: "2", readBy: "every group",
        "calls to Vercel one connection may have in flight in one function process (1 to 64); the next waits, then gets 503 `UPSTREAM_BUSY`"
    )
    public static let vercelBusyWait = ConfigurationKey(
        "SHEEN_VERCEL_BUSY_WAIT_MS", default: "100", readBy: "every group",
        "how long that next call waits for a place before its 503 (0 to 5000)")
    public static let vercelRequestTimeout = ConfigurationKey(
        "SHEEN_VERCEL_REQUEST_TIMEOUT_SECONDS", default: "10", readBy: "every group",
        "how long a request's call to Vercel may take, connection included (1 to 120); the jobs allow 30 s")
    public static let requestBudget = ConfigurationKey(
        "SHEEN_REQUEST_BUDGET_SECONDS", default: "45", readBy: "every group",
        "how long one request may hold a worker (1 to 55): no call to Vercel starts or is retried past it")
    public static let alertWebhookURL = ConfigurationKey(
        "SHEEN_ALERT_WEBHOOK_URL", readBy: "jobs",
        "where `vercel-job-alerts` delivers alerts (Standard Webhooks); unset, alerts wait in the outbox")
    public static let alertWebhookSecret = ConfigurationKey(
        "SHEEN_ALERT_WEBHOOK_SECRET", readBy: "jobs",
        "the `whsec_…` key alerts are signed with (required with `SHEEN_ALERT_WEBHOOK_URL`)")
    public static let githubAPIURL = ConfigurationKey(
        "SHEEN_GITHUB_API_URL", default: "https://api.github.com", readBy: "jobs",
        "GitHub's REST API, where `vercel-job-git-feedback` writes pull request comments and commit statuses")
    public static let gitlabAPIURL = ConfigurationKey(
        "SHEEN_GITLAB_API_URL", default: "https://gitlab.com/api/v4", readBy: "jobs",
        "GitLab's REST API (v4), for merge request notes and commit statuses")
    public static let bitbucketAPIURL = ConfigurationKey(
        "SHEEN_BITBUCKET_API_URL", default: "https://api.bitbucket.org/2.0", readBy: "jobs",
        "Bitbucket Cloud's REST API (2.0), for pull request comments and commit build statuses")
    public static let auditCheckpointKey = ConfigurationKey(
        "SHEEN_AUDIT_CHECKPOINT_KEY", readBy: "jobs, vercel-audit",
        "the key (32 characters or more, kept out of the database) that signs the audit chain's checkpoints; `vercel-job-audit-checkpoint` requires it"
    )
    public static let migrationsDirectory = ConfigurationKey(
        "MIGRATIONS_DIR", default: "Migrations", readBy: "migrate",
        "the folder of numbered SQL files (`--dir` overrides it)")
    public static let simulatorWebhookURL = ConfigurationKey(
        "SIM_WEBHOOK_URL", default: "", readBy: "simulator",
        "where the simulator sends webhooks when a test has not said")
    public static let simulatorTokenLifetime = ConfigurationKey(
        "SIM_ACCESS_TOKEN_TTL_SECONDS", default: "3600", readBy: "simulator",
        "lifetime of the OAuth app's access tokens it issues")

    /// Every variable, in the order the README lists them.
    public static let all: [ConfigurationKey] = [
        databaseURL, statementTimeout, platformSecret, acceptLegacySignatures, encryptionKeys, logLevel, faultRoutes,
        refusalLog,
        vercelAPIBaseURL, vercelAuthMode, vercelClientID, vercelClientSecret, vercelRedirectURI, vercelIntegrationSlug,
        vercelIntegrationInstallURL, vercelAuthorizeURL, vercelTokenURL, vercelRevokeURL,
        vercelWebhookSecrets, oauthSuccessURL, oauthFailureURL, oauthConfirmation, projectsRoot, baseURL, maxLogPumps,
        logPublishURL, productionBranchTTL, deploymentProbeVia, staleDeploymentMinutes,
        deployAttemptGrace,
        vercelCallsPerConnection,
        vercelBusyWait,
        vercelRequestTimeout, requestBudget, alertWebhookURL, alertWebhookSecret,
        githubAPIURL, gitlabAPIURL, bitbucketAPIURL, auditCheckpointKey, migrationsDirectory,
        simulatorWebhookURL,
        simulatorTokenLifetime,
    ]

    /// The README's configuration table.
    public static func markdownTable() -> String {
        var lines = ["| variable | default | read by | meaning |", "|---|---|---|---|"]
        for key in all {
            let value: String
            if key.isRequired {
                value = "required"
            } else if let defaultValue = key.defaultValue {
                value = defaultValue.isEmpty ? "empty" : "`\(defaultValue)`"
            } else {
                value = "unset"
            }
            lines.append("| `\(key.name)` | \(value) | \(key.readBy) | \(key.meaning) |")
        }
        return lines.joined(separator: "\n")
    }

    /// The settings file an install starts from (`/etc/sheen-vercel/env`, read as systemd's
    /// `EnvironmentFile=`): every variable with what it means, its default and who reads it, each
    /// line commented out. Those in `generated` are set in the file of generated secrets instead.
    public static func settingsTemplate(generated: Set<String>) -> String {
        var lines = [
            "# The service's settings, read by systemd for every unit (EnvironmentFile=) and by sheen-vercel-job:",
            "# KEY=VALUE lines, nothing expanded. Uncomment and set what you need; `sheen-vercel-check` names",
            "# what is missing. The secrets the package generated are in /etc/sheen-vercel/secrets; a value",
            "# set here replaces the generated one (every host of a cluster needs the same).",
        ]
        for key in all {
            lines.append("")
            var note = key.meaning
            if key.isRequired {
                note += generated.contains(key.name) ? " (required; generated)" : " (required)"
            } else if let defaultValue = key.defaultValue {
                note += defaultValue.isEmpty ? " (default: empty)" : " (default: \(defaultValue))"
            }
            lines.append("# \(note.filter { $0 != "`" }); read by \(key.readBy)")
            lines.append("#\(key.name)=")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
