import Platform

// vercel-job-nonce-prune: forgets platform request nonces older than their lifetime (every 10 min).
OneShotJob.run(name: "vercel-job-nonce-prune") { database, _ in
    let removed = try database.execute(
        "DELETE FROM vercel_request_nonces WHERE seen_at < now() - make_interval(secs => \(PlatformSignature.nonceLifetimeSeconds))")
    return ["nonces.removed": "\(removed)"]
}
