#!/usr/bin/env python3
"""What the clients of load.py saw while the groups restarted.

    verdict.py LOAD_JSONL STORED_IDS [socket]

STORED_IDS lists the webhook ids the database holds. Prints the requests by kind and status, the
webhooks acknowledged and lost, the 5xx answers that were not deliberate, the longest gap between
answers and the slowest answer, then `RESULT ok` or `RESULT failed`; exits 0 or 1. Deliberate: the
service's own 503s (UPSTREAM_BUSY, DATABASE_UNAVAILABLE) and, with `socket` (each socket made
anew), nginx's 503 SERVICE_UNAVAILABLE for a function it cannot reach, which Vercel redelivers."""
import json
import sys

lines = [json.loads(line) for line in open(sys.argv[1])]
stored = set(open(sys.argv[2]).read().split())
socket_recreated = len(sys.argv) > 3 and sys.argv[3] == "socket"
acknowledged = [l["id"] for l in lines if l["kind"] == "webhook" and 200 <= l["status"] < 300]
lost = [i for i in acknowledged if i not in stored]
deliberate_codes = {"UPSTREAM_BUSY", "DATABASE_UNAVAILABLE"} | ({"SERVICE_UNAVAILABLE"} if socket_recreated else set())
deliberate = [l for l in lines if l["status"] == 503 and l["code"] in deliberate_codes]
failures = [l for l in lines if (l["status"] >= 500 and l not in deliberate) or l["status"] == 0]
ends = sorted(l["end"] for l in lines)
gap = max((b - a for a, b in zip(ends, ends[1:])), default=0)
slowest = max((l["end"] - l["start"] for l in lines), default=0)
by_kind = {}
for l in lines:
    by_kind.setdefault(l["kind"], {}).setdefault(str(l["status"]), 0)
    by_kind[l["kind"]][str(l["status"])] += 1
print(f"  requests {len(lines)}: {json.dumps(by_kind, sort_keys=True)}")
print(f"  webhooks acknowledged {len(acknowledged)}, stored {len(acknowledged) - len(lost)}, lost {len(lost)}")
print(f"  5xx other than a deliberate 503: {len(failures)}; deliberate 503s: {len(deliberate)}")
print(f"  longest gap between answers {gap * 1000:.0f} ms; slowest answer {slowest * 1000:.0f} ms")
for l in failures[:5]:
    print("  failure:", json.dumps(l))
ok = acknowledged and not lost and not failures
print("RESULT", "ok" if ok else "failed")
sys.exit(0 if ok else 1)
