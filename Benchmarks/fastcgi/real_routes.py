#!/usr/bin/env python3
"""A load run of real routes of all seven functions, for scripts/bench fastcgi's memory figures.

    real_routes.py ROOT ENV_FILE STATE SECONDS THREADS

Sets up a user connected to the simulator's `developer` account (through its consent page), a
project linked to a new Vercel project with one deployment, and an admin; then THREADS threads call,
for SECONDS, in turn: the OAuth status (oauth), a signed Vercel webhook event (webhooks), the
deployment list, the deployment, the Vercel project list and the auto-deploy configuration
(deployments), the variables (env), the domains (domains), the job list and the admin keys
(breakglass), and the build history and trends (optimization). Prints each function's answers and
how many were not 2xx; exits 1 if any was.
"""
import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import benchstack  # noqa: E402


class Stack:
    def __init__(self, root, env_file, state):
        self.root, self.state = root, state
        self.call = benchstack.load_call(root)
        self.env = self.call.load_env(env_file)
        self.webhook_secret = self.env["VERCEL_WEBHOOK_SECRETS"].split(",")[0]

    def dev(self, *arguments):
        return subprocess.run([os.path.join(self.root, "scripts", "dev"), *arguments], cwd=self.root,
                              env=dict(os.environ, SHEEN_DEV_ENV="bench"), check=True, capture_output=True,
                              text=True).stdout.strip()

    def signed(self, method, target, body=None):
        data = json.dumps(body).encode() if body is not None else b""
        request = self.call.signed_request(self.env, method, target, data, "application/json")
        return self.answer(request)

    def webhook(self, project, index):
        body = json.dumps({
            "id": "evt_mem_%s_%d" % (uuid.uuid4().hex, index), "type": "deployment.created",
            "createdAt": int(time.time() * 1000), "region": "iad1",
            "payload": {"deployment": {"id": "dpl_mem%s" % uuid.uuid4().hex[:20], "url": "mem.vercel.app",
                                       "name": "mem", "meta": {}}, "project": {"id": project}, "target": None},
        }).encode()
        signature = hmac.new(self.webhook_secret.encode(), body, hashlib.sha1).hexdigest()
        request = urllib.request.Request(self.env["SHEEN_BASE_URL"] + "/v1/webhooks/vercel", data=body, method="POST",
                                         headers={"content-type": "application/json", "x-vercel-signature": signature})
        return self.answer(request)

    @staticmethod
    def answer(request):
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")


def setup(stack):
    user, project, vercel_project = benchstack.linked_project(stack.root, "bench", stack.dev, stack.signed,
                                                              stack.env["SHEEN_PROJECTS_ROOT"], "mem")
    admin = stack.dev("user", "mem-admin-%s@example.com" % uuid.uuid4().hex[:8], "--admin")
    status, answer = stack.signed("POST", "/v1/projects/%s/vercel/deploy" % project,
                                  {"userId": user, "deploymentType": "preview"})
    assert status == 202, answer
    return user, admin, project, vercel_project, answer["deployment"]["id"]


def main():
    root, env_file, state, seconds, threads = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
    stack = Stack(root, env_file, state)
    user, admin, project, vercel_project, deployment = setup(stack)
    base = "/v1/projects/%s/vercel" % project
    calls = [
        ("oauth", lambda i: stack.signed("GET", "/v1/internal/vercel/oauth/status?userId=%s" % user)),
        ("webhooks", lambda i: stack.webhook(vercel_project, i)),
        ("deployments", lambda i: stack.signed("GET", "%s/deployments?userId=%s&limit=20" % (base, user))),
        ("deployments", lambda i: stack.signed("GET", "%s/deployments/%s?userId=%s" % (base, deployment, user))),
        ("deployments", lambda i: stack.signed("GET", "%s/projects?userId=%s" % (base, user))),
        ("deployments", lambda i: stack.signed("GET", "%s/auto-deploy/config?userId=%s" % (base, user))),
        ("env", lambda i: stack.signed("GET", "%s/env?userId=%s" % (base, user))),
        ("domains", lambda i: stack.signed("GET", "%s/domains?userId=%s" % (base, user))),
        ("breakglass", lambda i: stack.signed("GET", "/v1/admin/vercel/jobs?userId=%s" % admin)),
        ("breakglass", lambda i: stack.signed("GET", "/v1/admin/vercel/admin-keys?userId=%s" % admin)),
        ("optimization", lambda i: stack.signed("GET", "%s/optimization/history?userId=%s" % (base, user))),
        ("optimization", lambda i: stack.signed("GET", "%s/optimization/trends?userId=%s" % (base, user))),
    ]
    counts, failures, lock = {}, {}, threading.Lock()
    deadline = time.time() + seconds

    def run(offset):
        index = offset
        while time.time() < deadline:
            group, call = calls[index % len(calls)]
            status, answer = call(index)
            with lock:
                counts[group] = counts.get(group, 0) + 1
                if not 200 <= status < 300:
                    failures.setdefault(group, []).append((status, answer))
            index += 1

    workers = [threading.Thread(target=run, args=(offset,)) for offset in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    for group in sorted(counts):
        print("  %-13s %6d answers, %d not 2xx" % (group, counts[group], len(failures.get(group, []))))
    for group, answers in sorted(failures.items()):
        print("  %s, first refusal: %s %s" % (group, answers[0][0], json.dumps(answers[0][1])[:300]))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
