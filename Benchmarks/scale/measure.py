"""Measures the service at scale (scripts/bench scale): p50 and p99 of the routes a user reads most,
each called ROUNDS times through nginx for projects picked across the seeded data, and the run time
of each maintenance job with nothing due. Prints one line per figure with its target.

    measure.py ENV_FILE DATABASE_URL BIN_DIR [ROUNDS]
"""
import hashlib, hmac, http.client, os, secrets, subprocess, sys, time, urllib.parse

def load_env(path):
    values = {}
    with open(path) as handle:
        for line in handle:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                name, value = line.split("=", 1)
                values[name] = value
    return values

def sql(database, statement):
    return subprocess.run(["psql", database, "-qAtX", "-F", "\t", "-c", statement], check=True,
                          capture_output=True, text=True).stdout.strip().splitlines()

def signed_get(connection, secret, target):
    path, _, query = target.partition("?")
    pairs = sorted((p for p in query.split("&") if p), key=lambda p: (p.split("=", 1)[0], p))
    canonical = path + ("?" + "&".join(pairs) if pairs else "")
    timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
    message = "\n".join(["GET", canonical, timestamp, nonce]).encode() + b"\n"
    signature = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    started = time.perf_counter()
    connection.request("GET", target, headers={"x-sheen-sig-v2": signature, "x-sheen-timestamp": timestamp,
                                                "x-sheen-nonce": nonce})
    response = connection.getresponse()
    response.read()
    return response.status, (time.perf_counter() - started) * 1000

def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]

def main():
    env_file, database, bin_dir = sys.argv[1], sys.argv[2], sys.argv[3]
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 200
    env = load_env(env_file)
    base = urllib.parse.urlparse(env["SHEEN_BASE_URL"])
    # Projects across the data, each with its owner and a READY deployment.
    picks = [row.split("\t") for row in sql(database, """
        SELECT p.id, p.owner_id, (SELECT deployment_id FROM vercel_deployments d
                                  WHERE d.project_id = p.id AND d.deployment_state = 'READY' LIMIT 1)
        FROM projects p JOIN vercel_project_mappings m ON m.project_id = p.id
        WHERE p.name LIKE 'scale-%' ORDER BY p.id LIMIT 20""")]
    routes = {
        "deployment list with stats": "/v1/projects/{p}/vercel/deployments?userId={u}&limit=20",
        "deployment get": "/v1/projects/{p}/vercel/deployments/{d}?userId={u}",
        "oauth/status": "/v1/internal/vercel/oauth/status?userId={u}",
        "analysis": "/v1/projects/{p}/vercel/optimization/analysis?userId={u}",
        "trends": "/v1/projects/{p}/vercel/optimization/trends?userId={u}",
        "history": "/v1/projects/{p}/vercel/optimization/history?userId={u}",
        "benchmarks": "/v1/projects/{p}/vercel/optimization/benchmarks?userId={u}",
        "recommendations": "/v1/projects/{p}/vercel/optimization/recommendations?userId={u}",
    }
    connection = http.client.HTTPConnection(base.hostname, base.port, timeout=60)
    print(f"  {'route':32} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9}   target p99 < 50 ms ({rounds} reads each)")
    misses = 0
    for name, template in routes.items():
        timings, statuses = [], set()
        for index in range(rounds + 10):
            project, owner, deployment = picks[index % len(picks)]
            status, ms = signed_get(connection, env["SHEEN_HMAC_SECRET"],
                                    template.format(p=project, u=owner, d=deployment))
            statuses.add(status)
            if index >= 10:  # the first calls warm each worker's connection and caches
                timings.append(ms)
        p50, p99 = percentile(timings, 0.5), percentile(timings, 0.99)
        ok = p99 < 50 and statuses == {200}
        misses += not ok
        print(f"  {name:32} {p50:9.1f} {p99:9.1f} {max(timings):9.1f}   {'ok' if ok else 'MISS'} (answers {sorted(statuses)})")
    print(f"  {'job, nothing due':32} {'ms (5 runs, median)':>19}   target < 100 ms")
    environment = dict(os.environ, **env)
    for job in ["token-refresh", "webhook-retry", "alerts", "deployment-sync", "domain-health", "git-deploy", "git-feedback",
                "audit-checkpoint",
                "rekey", "nonce-prune"]:
        runs = []
        for _ in range(5):
            started = time.perf_counter()
            subprocess.run([os.path.join(bin_dir, "vercel-job-" + job)], env=environment, check=True,
                           capture_output=True)
            runs.append((time.perf_counter() - started) * 1000)
        median = sorted(runs)[2]
        misses += median >= 100
        print(f"  {job:32} {median:9.1f}   {'ok' if median < 100 else 'MISS'}")
    print(f"  {misses} figures miss their target")

main()
