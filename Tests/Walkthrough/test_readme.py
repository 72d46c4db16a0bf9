"""The README's walk-through as an executable specification.

On a fresh local stack of its own (`SHEEN_DEV_ENV=walkthrough scripts/dev up`, jobs included), the
walk-through's ```sh blocks run as written, in order, in one shell, from the repository's root; what
each prints must match the ```text block after it, where `…` stands for any text. Then
`scripts/dev demo`, which runs the same blocks, runs twice more and must make nothing twice.
`scripts/dev test` runs this after the other suites (`scripts/dev test walkthrough`: this alone).
"""

import os
import re
import subprocess
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BEGIN = "<!-- walkthrough: scripts/dev demo runs these blocks, Tests/Walkthrough checks them -->"
END = "<!-- end of walkthrough -->"
ENVIRONMENT = dict(os.environ, SHEEN_DEV_ENV="walkthrough")
for name in list(ENVIRONMENT):
    # The walk-through's own settings come from `scripts/dev env`, never from the test stack's.
    if name.startswith(("TEST_", "SHEEN_", "VERCEL_", "SIM_", "TOKEN_", "DATABASE_URL", "CONTRACT_")) \
            and name != "SHEEN_DEV_ENV":
        del ENVIRONMENT[name]


def walkthrough_blocks():
    """(shell block, expected text or None) in the README's order."""
    with open(os.path.join(ROOT, "README.md")) as handle:
        readme = handle.read()
    assert readme.count(BEGIN) == 1 and readme.count(END) == 1, "the README marks its walk-through once"
    section = readme.split(BEGIN, 1)[1].split(END, 1)[0]
    fenced = re.findall(r"^```(\w+)\n(.*?)^```$", section, flags=re.S | re.M)
    blocks = []
    for kind, body in fenced:
        if kind == "sh":
            blocks.append([body, None])
        elif kind == "text":
            assert blocks and blocks[-1][1] is None, "each text block follows the shell block it shows"
            blocks[-1][1] = body
    return blocks


def matches(expected, printed):
    pattern = "".join(".*?" if piece == "…" else re.escape(piece) for piece in re.split("(…)", expected.strip()))
    return re.fullmatch(pattern, printed.strip(), flags=re.S) is not None


def dev(*arguments, timeout=900):
    return subprocess.run([os.path.join(ROOT, "scripts", "dev"), *arguments], cwd=ROOT, env=ENVIRONMENT,
                          capture_output=True, text=True, timeout=timeout)


def psql(statement):
    settings = dict(line.split("=", 1) for line in dev("env").stdout.splitlines() if line.startswith("export "))
    url = settings["export DATABASE_URL"].strip("'")
    return subprocess.run(["psql", url, "-Atq", "-c", statement], capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.fixture(scope="module")
def fresh_stack():
    cleaned = dev("clean")
    assert cleaned.returncode == 0, cleaned.stderr
    started = dev("up")
    assert started.returncode == 0, started.stderr[-3000:]
    yield
    dev("down")


def test_the_walkthrough_runs_as_written_and_prints_what_the_readme_shows(fresh_stack):
    blocks = walkthrough_blocks()
    assert len(blocks) >= 6 and all(expected is not None for _, expected in blocks), \
        "every step of the walk-through shows what it prints"
    script = ["set -euo pipefail"]
    for index, (body, _) in enumerate(blocks):
        script.append("printf '\\n@@step %d@@\\n'" % index)
        script.append("step_started=$(date +%s.%N); printf '@@at %s@@\\n' \"$step_started\"")
        script.append(body)
    started = time.monotonic()
    run = subprocess.run(["bash", "-c", "\n".join(script)], cwd=ROOT, env=ENVIRONMENT, capture_output=True,
                         text=True, timeout=900)
    outputs = re.split(r"\n?@@step (\d+)@@\n", run.stdout)[1:]
    printed = {int(outputs[i]): outputs[i + 1] for i in range(0, len(outputs), 2)}
    reached = max(printed) if printed else -1
    assert run.returncode == 0, "step %d failed:\n%s\n%s\n%s" % (
        reached, blocks[reached][0] if reached >= 0 else "", run.stdout[-2000:], run.stderr[-2000:])
    assert sorted(printed) == list(range(len(blocks)))
    for index, (body, expected) in enumerate(blocks):
        text = re.sub(r"^@@at [0-9.]+@@\n", "", printed[index])
        assert matches(expected, text), "step %d printed something else.\n--- it ran:\n%s--- it printed:\n%s\n" \
            "--- the README shows:\n%s" % (index, body, text, expected)
    # The failed build's reason came from the jobs, with nothing run by hand, within a minute of
    # its end (the step waits for it at most 75 s, and the build itself takes about one).
    failing = next(i for i, (body, _) in enumerate(blocks) if "failBuilds" in body)
    began = float(re.match(r"@@at ([0-9.]+)@@", printed[failing]).group(1))
    ended = float(re.match(r"@@at ([0-9.]+)@@", printed[failing + 1]).group(1)) if failing + 1 < len(blocks) \
        else time.time()
    assert ended - began < 75, "the failed build's reason took %.0f s to appear" % (ended - began)
    assert time.monotonic() - started < 600


def test_the_demo_runs_the_same_steps_twice_and_makes_nothing_twice(fresh_stack):
    for attempt in (1, 2):
        demo = dev("demo", timeout=600)
        assert demo.returncode == 0, "run %d: %s\n%s" % (attempt, demo.stdout[-3000:], demo.stderr[-3000:])
        assert re.search(r"^\$ CONFIRMATION=\$\(scripts/consent ", demo.stdout, flags=re.M), demo.stdout
        assert "end READY" in demo.stdout and "demo: " in demo.stdout
    assert psql("SELECT count(*) FROM users WHERE email = 'me@example.com'") == "1"
    assert psql("SELECT role FROM users WHERE email = 'admin@example.com'") == "admin"
    assert psql("SELECT count(*) FROM projects p JOIN users u ON u.id = p.owner_id "
                "WHERE u.email = 'me@example.com' AND p.name = 'my-site'") == "1"
    assert psql("SELECT count(*) FROM vercel_connections c JOIN users u ON u.id = c.user_id "
                "WHERE u.email = 'me@example.com'") == "1"
    assert psql("SELECT count(*) FROM vercel_project_mappings m JOIN projects p ON p.id = m.project_id "
                "JOIN users u ON u.id = p.owner_id WHERE u.email = 'me@example.com'") == "1"


def test_the_stack_ran_its_jobs_on_their_schedule(fresh_stack):
    status = dev("status")
    assert status.returncode == 0, status.stderr
    lines = {line.split()[0]: line for line in status.stdout.splitlines()
             if line.startswith("  ") and len(line.split()) > 1}
    for job in ("deployment-sync", "alerts", "webhook-retry", "git-feedback"):
        assert job in lines, status.stdout
        assert " ok " in lines[job] or lines[job].rstrip().endswith("ok"), lines[job]
    assert "never" in lines["partitions"] and "-01 03:00" in lines["partitions"], lines["partitions"]
    once = dev("job", "nonce-prune", timeout=120)
    assert once.returncode == 0, once.stderr
    assert re.search(r"^  nonce-prune .* ok ", dev("status").stdout, flags=re.M)
    refused = dev("job", "no-such-job")
    assert refused.returncode != 0 and "no job no-such-job" in refused.stderr
