#!/usr/bin/env python3
"""Webhooks and reads through nginx until STOPFILE exists; one JSON line per request in OUT.

    load.py BASE_URL ENV_FILE USER_ID PROJECT_ID STOPFILE OUT [READ_BASE_URL]

Two threads send Vercel webhooks (unique ids `evt_upgrade_<n>`, signed with the client secret as
Vercel signs them), two read the connection status and two list the project's deployments (signed
as the platform signs), to READ_BASE_URL when given (a packaged host's platform listener; https
is not verified there: the host's snakeoil pair). Each line: kind, id, start and end (monotonic
seconds), status, code."""
import hashlib
import hmac
import http.client
import itertools
import json
import os
import secrets
import ssl
import sys
import threading
import time
import urllib.parse

base, env_file, user, project, stopfile, out = sys.argv[1:7]
read_base = sys.argv[7] if len(sys.argv) > 7 else base
settings = {}
with open(env_file) as handle:
    for line in handle:
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            settings[key] = value
counter = itertools.count()
lock = threading.Lock()
lines = []


def platform_headers(method, target):
    timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
    path, _, query = target.partition("?")
    pairs = sorted((p for p in query.split("&") if p), key=lambda p: (p.split("=", 1)[0], p))
    canonical = path + ("?" + "&".join(pairs) if pairs else "")
    message = "\n".join([method, canonical, timestamp, nonce]).encode() + b"\n"
    signature = hmac.new(settings["SHEEN_HMAC_SECRET"].encode(), message, hashlib.sha256).hexdigest()
    return {"x-sheen-sig-v2": signature, "x-sheen-timestamp": timestamp, "x-sheen-nonce": nonce}


def send(connection, method, target, body, headers):
    for attempt in range(2):
        try:
            connection.request(method, target, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read()
            return response.status, text
        except (http.client.HTTPException, OSError):
            connection.close()
            if attempt == 1:
                return 0, b""


def connect(url):
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "https":
        return http.client.HTTPSConnection(parsed.hostname, parsed.port or 443, timeout=90,
                                           context=ssl._create_unverified_context())
    return http.client.HTTPConnection(parsed.hostname, parsed.port or 80, timeout=90)


def worker(kind):
    connection = connect(base if kind == "webhook" else read_base)
    while not os.path.exists(stopfile):
        started = time.monotonic()
        ident = None
        if kind == "webhook":
            ident = f"evt_upgrade_{next(counter)}"
            body = json.dumps({"type": "deployment.check-rerequested", "id": ident,
                               "createdAt": int(time.time() * 1000), "payload": {}}).encode()
            signature = hmac.new(settings["VERCEL_OAUTH_CLIENT_SECRET"].encode(), body, hashlib.sha1).hexdigest()
            status, text = send(connection, "POST", "/v1/webhooks/vercel", body,
                                {"content-type": "application/json", "x-vercel-signature": signature})
        else:
            target = (f"/v1/internal/vercel/oauth/status?userId={user}" if kind == "status"
                      else f"/v1/projects/{project}/vercel/deployments?userId={user}")
            status, text = send(connection, "GET", target, None, platform_headers("GET", target))
        try:
            code = json.loads(text or b"{}").get("code")
        except ValueError:
            code = "NOT_JSON"
        with lock:
            lines.append({"kind": kind, "id": ident, "start": started, "end": time.monotonic(),
                          "status": status, "code": code})


threads = [threading.Thread(target=worker, args=(kind,))
           for kind in ["webhook", "webhook", "status", "status", "deployments", "deployments"]]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
with open(out, "w") as handle:
    for line in lines:
        handle.write(json.dumps(line) + "\n")
