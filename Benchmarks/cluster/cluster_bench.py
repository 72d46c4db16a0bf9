#!/usr/bin/env python3
"""The cluster's figures for scripts/bench cluster (a cluster `scripts/dev cluster up` brought up).

    cluster_bench.py log-delay ROOT   build log delay, from the simulator's event to a reader, for
                                      readers on the pumping host and on the other host
    cluster_bench.py failover ROOT    webhooks from four senders through the balancer while the
                                      primary dies and the replica is promoted: the gap (first to
                                      last refused answer), the answers refused, and whether every
                                      acknowledged event is stored

The cluster's settings are read from ROOT/.local/cluster.env; calls are signed as scripts/call signs.
"""
import hashlib
import hmac
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import benchstack  # noqa: E402


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))] if ordered else float("nan")


class Cluster:
    def __init__(self, root):
        self.root = root
        self.call = benchstack.load_call(root)
        self.env = self.call.load_env(os.path.join(root, ".local", "cluster.env"))
        self.state = os.path.join(root, ".local", "cluster")
        front = int(self.env["SHEEN_BASE_URL"].rsplit(":", 1)[1])
        self.hosts = {"a": "http://127.0.0.1:%d" % (front + 20), "b": "http://127.0.0.1:%d" % (front + 30)}

    def dev(self, *arguments):
        environment = dict(os.environ, SHEEN_DEV_ENV="cluster")
        return subprocess.run([os.path.join(self.root, "scripts", "dev"), *arguments], cwd=self.root, env=environment,
                              check=True, capture_output=True, text=True).stdout.strip()

    def signed(self, method, target, body=None, base=None):
        env = dict(self.env, SHEEN_BASE_URL=base or self.env["SHEEN_BASE_URL"])
        data = json.dumps(body).encode() if body is not None else b""
        request = self.call.signed_request(env, method, target, data, "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def psql(self, statement):
        return subprocess.run(["psql", self.env["DATABASE_URL"], "-Atqc", statement], check=True,
                              capture_output=True, text=True).stdout.strip()

    def host_of(self, holder):
        pid = holder.split("/")[1]
        for host in self.hosts:
            with open(os.path.join(self.state, host, "run", "deployments.pid")) as handle:
                if handle.read().strip() == pid:
                    return host
        return None


def linked_project(cluster, build_ms):
    """A user connected to the simulator's developer, and a project linked to a new Vercel project."""
    user, project, _ = benchstack.linked_project(cluster.root, "cluster", cluster.dev, cluster.signed,
                                                 cluster.env["SHEEN_PROJECTS_ROOT"], "bench")
    with open(os.path.join(cluster.state, "simulator-developer.token")) as handle:
        token = handle.read().strip()
    request = urllib.request.Request(cluster.env["VERCEL_SIMULATOR_URL"] + "/_sim/faults", method="PUT",
                                     data=json.dumps({"buildMs": build_ms}).encode(),
                                     headers={"authorization": "Bearer " + token})
    urllib.request.urlopen(request, timeout=10).read()
    return user, project


def read_events(cluster, base, target, arrivals):
    """Follows one build log at `base` to its end; appends (received ms, event data) to `arrivals`."""
    env = dict(cluster.env, SHEEN_BASE_URL=base)
    request = cluster.call.signed_request(env, "GET", target, b"", "text/event-stream")
    with urllib.request.urlopen(request, timeout=120) as response:
        kind = None
        for raw in response:
            line = raw.decode().rstrip("\r\n")
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") and kind not in (None, "ping"):
                arrivals.append((time.time() * 1000, kind, line[6:]))
                if kind == "end":
                    return


def log_delay(cluster):
    deployments = int(os.environ.get("BENCH_CLUSTER_DEPLOYMENTS", "6"))
    user, project = linked_project(cluster, 6000)
    readings = []
    threads = []
    for _ in range(deployments):
        status, answer = cluster.signed("POST", "/v1/projects/%s/vercel/deploy" % project,
                                        {"userId": user, "deploymentType": "preview"})
        assert status == 202, answer
        deployment = answer["deployment"]["id"]
        target = "/v1/projects/%s/vercel/deployments/%s/logs?userId=%s" % (project, deployment, user)
        for host, base in cluster.hosts.items():
            arrivals = []
            readings.append((deployment, host, arrivals))
            thread = threading.Thread(target=read_events, args=(cluster, base, target, arrivals))
            thread.start()
            threads.append(thread)
    for thread in threads:
        thread.join(180)
    holders = dict(line.split("|") for line in cluster.psql(
        "SELECT deployment_id || '|' || holder FROM vercel_log_pumps WHERE deployment_id IN (%s)" % ",".join(
            "'%s'" % d for d, _, _ in readings if d.replace("_", "").isalnum())).splitlines())
    same, other = [], []
    for deployment, host, arrivals in readings:
        pumping = cluster.host_of(holders.get(deployment, "x/0/0"))
        for received, kind, data in arrivals:
            try:
                created = json.loads(data).get("created")
            except ValueError:
                created = None
            if isinstance(created, (int, float)):
                (same if host == pumping else other).append(received - created)
    print("  build log delay, simulator's event to reader (%d deployments, a reader on each host):" % deployments)
    for label, values in (("on the pumping host", same), ("on the other host (through Redis)", other)):
        print("    %-36s p50 %6.1f ms   p99 %6.1f ms   (%d events)" % (
            label, percentile(values, 0.5), percentile(values, 0.99), len(values)))
    if same and other:
        print("    ratio other/pumping host: p50 %.2f, p99 %.2f" % (
            percentile(other, 0.5) / max(percentile(same, 0.5), 0.001),
            percentile(other, 0.99) / max(percentile(same, 0.99), 0.001)))


def failover(cluster):
    secret = cluster.env["VERCEL_OAUTH_CLIENT_SECRET"].encode()
    tag = uuid.uuid4().hex[:8]
    answers = []
    lock = threading.Lock()
    stop = time.time() + 16

    def sender(number):
        index = 0
        while time.time() < stop:
            event = "evt_benchfail_%s_%d_%d" % (tag, number, index)
            body = json.dumps({"type": "deployment.check-rerequested", "id": event,
                               "createdAt": 1790000000000 + index, "payload": {}}).encode()
            request = urllib.request.Request(cluster.env["SHEEN_BASE_URL"] + "/v1/webhooks/vercel", data=body,
                                             method="POST", headers={
                                                 "content-type": "application/json",
                                                 "x-vercel-signature": hmac.new(secret, body, hashlib.sha1).hexdigest()})
            sent = time.time()
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    status = response.status
            except urllib.error.HTTPError as error:
                status = error.code
            except (urllib.error.URLError, OSError):
                status = 0
            with lock:
                answers.append((sent, time.time(), status, event))
            index += 1

    threads = [threading.Thread(target=sender, args=(number,)) for number in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(4)
    killed = time.time()
    cluster.dev("cluster", "failover")
    for thread in threads:
        thread.join()
    refused = [a for a in answers if a[2] != 200]
    acknowledged = [a[3] for a in answers if a[2] == 200]
    stored = set(cluster.psql(
        "SELECT event_id FROM vercel_webhook_dedup WHERE event_id LIKE 'evt_benchfail_%s_%%'" % tag).splitlines())
    lost = [event for event in acknowledged if event not in stored]
    statuses = sorted({a[2] for a in answers})
    print("  failover under webhook load (4 senders through the balancer; primary killed, replica promoted):")
    if refused:
        gap = (max(a[1] for a in refused) - min(a[0] for a in refused)) * 1000
        print("    gap, first to last refused request: %.0f ms (first refused %.0f ms after the kill)" % (
            gap, (min(a[0] for a in refused) - killed) * 1000))
    else:
        print("    gap: no request was refused")
    print("    answers: %d, refused %d (statuses seen: %s); acknowledged %d, lost %d" % (
        len(answers), len(refused), ",".join(str(s) for s in statuses), len(acknowledged), len(lost)))


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("log-delay", "failover"):
        sys.exit(__doc__)
    cluster = Cluster(sys.argv[2])
    {"log-delay": log_delay, "failover": failover}[sys.argv[1]](cluster)
