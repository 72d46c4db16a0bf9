import FastCGI
import Foundation
import Kernel
import Synchronization

/// Everything the simulator knows, in memory, behind one lock: accounts and their tokens,
/// projects, the fault knobs and a count of requests per route.
final class SimulatorState: Sendable {
    let webhooks: WebhookSender

    init(webhooks: WebhookSender) {
        self.webhooks = webhooks
    }

    struct Account: Sendable {
        var user: SimulatedUser
        var teams: [SimulatedTeam]
    }

    struct Data: Sendable {
        var accounts: [String: Account] = [:]
        /// The token `/_sim/accounts` gave each user (by user id): the key of that account's fault
        /// knobs, webhook settings and request counts, whichever of its tokens a call carries.
        var controlTokens: [String: String] = [:]
        /// The users made for a person (`"person": true`), in the order they were made: the ones
        /// the consent page offers.
        var people: [String] = []
        /// When OAuth-issued access tokens stop working (epoch ms); others never expire.
        var tokenExpiry: [String: Int64] = [:]
        /// Authorization codes waiting to be exchanged.
        var codes: [String: PendingCode] = [:]
        /// Live refresh tokens, and the ones already spent (a reuse revokes the whole grant).
        var refreshTokens: [String: Grant] = [:]
        var spentRefreshTokens: [String: String] = [:]
        var grantAccessTokens: [String: [String]] = [:]
        /// Webhook knobs per account token.
        var webhooks: [String: WebhookSender.Settings] = [:]
        /// When the current reordering batch of each account opened (epoch ms).
        var reorderBatch: [String: Int64] = [:]
        /// Deliveries the knobs still have to drop, duplicate or hold, per account token.
        var received: [String: [InboxItem]] = [:]
        /// The tokens issued for each integration configuration, and the user who installed it.
        var configurationTokens: [String: [String]] = [:]
        var configurationOwners: [String: String] = [:]
        /// How many more deliveries each inbox refuses (503), and how many it has refused.
        var inboxFailures: [String: Int] = [:]
        var inboxRefused: [String: Int] = [:]
        /// Access token lifetimes per user id, when a test set one (`/_sim/oauth/ttl`).
        var tokenTTL: [String: Int64] = [:]
        /// Tokens issued by the OAuth endpoints, per user id: tests look for them where they must not be.
        var issuedTokens: [String: [String]] = [:]
        /// Token endpoint calls per user id, for tests of refresh races.
        var tokenCalls: [String: Int] = [:]
        var projects: [String: SimulatedProject] = [:]
        /// SHA-1s of the files each owner (user or team) has uploaded.
        var files: [String: Set<String>] = [:]
        var deployments: [String: SimulatedDeployment] = [:]
        /// The checks integrations registered, by deployment id.
        var checks: [String: [SimulatedCheck]] = [:]
        /// How deployments' pages answer (`SiteRoutes`), and the paths they were asked for.
        var sites: [String: SiteRoutes.Behaviour] = [:]
        var siteRequests: [String: [String]] = [:]
        /// Each deployment's runtime log lines, oldest first (`RuntimeLogRoutes`).
        var runtimeLogs: [String: RuntimeLogRoutes.Kept] = [:]
        var envs: [String: SimulatedEnv] = [:]
        /// Project domains by project id, then by name.
        var domains: [String: [String: SimulatedDomain]] = [:]
        /// DNS records an owner has "published" (`/_sim/dns`): domain → type → value.
        var dns: [String: [String: String]] = [:]
        /// Apex domains claimed by an account or team (`/_sim/domains/claim`): apex → owner id.
        /// Another owner adding a name under one is refused with 403, as Vercel does.
        var domainOwners: [String: String] = [:]
        /// The git providers' comments, statuses, tokens and knobs.
        var git = GitHostRoutes.Data()
        /// Fault knobs and request counts per account token, so tests never disturb each other.
        var faults: [String: Faults] = [:]
        /// The answer variants each account gets, by account token.
        var shapes: [String: SimulatedShapes] = [:]
        var requests: [String: [String: Int]] = [:]
        /// A strictly increasing clock in epoch milliseconds, so no two writes share an `updatedAt`.
        var lastMillis: Int64 = 0

        mutating func tick() -> Int64 {
            lastMillis = max(lastMillis + 1, Int64(Date().timeIntervalSince1970 * 1000))
            return lastMillis
        }
    }

    /// Faults to inject into the next API calls.
    struct Faults: Sendable, Codable, Equatable {
        /// This many calls answer 429 with `Retry-After: retryAfterSeconds`.
        var rateLimited = 0
        var retryAfterSeconds = 1
        /// This many calls answer `serverErrorStatus`.
        var serverErrors = 0
        var serverErrorStatus = 500
        /// Every call waits this long first.
        var latencyMs = 0
        /// How long a deployment takes from QUEUED to READY.
        var buildMs = 900
        /// This many of the next deployments fail at build.
        var failBuilds = 0
        /// This many calls answer 403, as Vercel does for a permission the token lacks.
        var forbidden = 0
        /// This many env deletes answer 429 (Vercel's delete limit is tighter than the rest).
        var rateLimitedDeletes = 0
        /// When 0 or more: that many env writes (creates, edits, deletes) succeed, then every one
        /// answers 500 until the knob is set again: a sync cut off halfway.
        var envWritesBeforeFailure = -1
        /// How long a runtime-logs stream stays open (Vercel's: five minutes).
        var runtimeLogsMs = 300_000

        init() {}

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            rateLimited = try container.decodeIfPresent(Int.self, forKey: .rateLimited) ?? 0
            retryAfterSeconds = try container.decodeIfPresent(Int.self, forKey: .retryAfterSeconds) ?? 1
            serverErrors = try container.decodeIfPresent(Int.self, forKey: .serverErrors) ?? 0
            serverErrorStatus = try container.decodeIfPresent(Int.self, forKey: .serverErrorStatus) ?? 500
            latencyMs = try container.decodeIfPresent(Int.self, forKey: .latencyMs) ?? 0
            buildMs = try container.decodeIfPresent(Int.self, forKey: .buildMs) ?? 900
            failBuilds = try container.decodeIfPresent(Int.self, forKey: .failBuilds) ?? 0
            forbidden = try container.decodeIfPresent(Int.self, forKey: .forbidden) ?? 0
            rateLimitedDeletes = try container.decodeIfPresent(Int.self, forKey: .rateLimitedDeletes) ?? 0
            envWritesBeforeFailure = try container.decodeIfPresent(Int.self, forKey: .envWritesBeforeFailure) ?? -1
            runtimeLogsMs = try container.decodeIfPresent(Int.self, forKey: .runtimeLogsMs) ?? 300_000
        }
    }

    /// A request received at `/_sim/inbox/:name`: its signature header and raw body.
    /// A delivery an inbox took: Vercel's signature header, the Standard Webhooks headers, the body.
    struct InboxItem: Codable, Sendable {
        var signature: String?
        var webhookID: String?
        var webhookTimestamp: String?
        var webhookSignature: String?
        var body: String
    }

    struct PendingCode: Sendable {
        var account: Account
        var teamID: String?
        /// The integration configuration the install made (integration flow only).
        var configurationID: String? = nil
        var redirectURI: String
        var codeChallenge: String?
        var scope: String
        var expiresAt: Int64
    }

    /// One authorization: its refresh token family shares this id.
    struct Grant: Sendable {
        var id: String
        var account: Account
        var scope: String
        var accessToken: String
    }

    private let data = Mutex(Data())

    /// Sends a webhook about `deployment` for the account of `token`, as its knobs say.
    func emit(
        _ type: String, _ deployment: SimulatedDeployment, token: String, at: Int64, tag: String? = nil,
        extra: [String: JSONValue] = [:]
    ) {
        let (account, project, settings, copies, batch) = with {
            data -> (Account?, SimulatedProject?, WebhookSender.Settings, Int, Int64) in
            var settings = data.webhooks[token] ?? WebhookSender.Settings()
            let window = Int64(max(settings.reorderWindowMs, 10))
            if let opened = data.reorderBatch[token], at >= opened, at < opened + window {
            } else {
                data.reorderBatch[token] = at
            }
            var copies = 1
            if settings.drop > 0 {
                settings.drop -= 1
                copies = 0
            } else if settings.duplicate > 0 {
                settings.duplicate -= 1
                copies = 2
            }
            data.webhooks[token] = settings
            return (
                data.accounts[token], data.projects[deployment.projectId], settings, copies,
                data.reorderBatch[token] ?? at
            )
        }
        guard let account else { return }
        var due = at
        if settings.reorder {
            // A batch opens at its first event; everything within its window goes out newest first.
            let window = Int64(max(settings.reorderWindowMs, 10))
            due = batch + 2 * window - (at - batch)
        }
        webhooks.schedule(
            type: type, deployment: deployment, project: project, account: account, settings: settings, at: at,
            due: due,
            copies: copies, tag: tag, extra: extra)
    }

    /// Now in epoch milliseconds, never before the last write's timestamp: the write clock runs
    /// ahead of the wall clock after bursts, and reads must not see the future as past.
    func now() -> Int64 {
        data.withLock { max($0.lastMillis, Int64(Date().timeIntervalSince1970 * 1000)) }
    }

    /// The checks registered on a deployment.
    func checks(of deploymentID: String) -> SimulatedChecks {
        data.withLock { SimulatedChecks(checks: $0.checks[deploymentID] ?? []) }
    }

    /// The answer variants of the account whose control token is `token`.
    func shapes(_ token: String) -> SimulatedShapes {
        data.withLock { $0.shapes[token] ?? SimulatedShapes() }
    }

    func with<T>(_ body: (inout Data) throws -> T) rethrows -> T {
        try data.withLock { try body(&$0) }
    }

    static func identifier(_ prefix: String) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        return prefix + String((0..<24).map { _ in alphabet.randomElement()! })
    }
}
