"""scripts/job-runner, the local stack's scheduler: the package crontab's schedules read as cron
reads them, and one run of a job at a time."""

import datetime
import fcntl
import importlib.machinery
import importlib.util
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CRONTAB = os.path.join(ROOT, "deploy", "cron", "sheen-vercel")


def runner():
    loader = importlib.machinery.SourceFileLoader("job_runner", os.path.join(ROOT, "scripts", "job-runner"))
    spec = importlib.util.spec_from_loader("job_runner", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def at(text):
    return datetime.datetime.fromisoformat(text)


def test_it_runs_every_job_of_the_crontab_that_scripts_dev_links():
    with open(os.path.join(ROOT, "scripts", "dev")) as handle:
        linked = re.search(r"JOB_NAMES=\(([^)]*)\)", handle.read()).group(1).split()
    assert [name for name, _ in runner().schedule(CRONTAB)] == linked


def test_schedules_are_read_as_cron_reads_them():
    job = runner()
    assert job.due(["*/5", "*", "*", "*", "*"], at("2026-12-03T05:10:00"))
    assert not job.due(["*/5", "*", "*", "*", "*"], at("2026-12-03T05:12:00"))
    assert job.due(["*", "*", "*", "*", "*"], at("2026-12-03T05:12:00"))
    assert job.next_run(["0", "2", "*", "*", "*"], at("2026-12-03T05:00:00")) == at("2026-12-04T02:00:00")
    assert job.next_run(["0", "3", "1", "*", "*"], at("2026-12-03T05:00:00")) == at("2027-01-01T03:00:00")
    assert job.next_run(["*/10", "*", "*", "*", "*"], at("2026-12-03T05:50:00")) == at("2026-12-03T06:00:00")
    assert job.next_run(["30", "1-3", "*", "*", "1"], at("2026-12-03T05:00:00")) == at("2026-12-07T01:30:00")


def test_a_job_never_overlaps_itself(tmp_path):
    job = runner()
    (tmp_path / "jobs").mkdir()
    (tmp_path / "logs").mkdir()
    binary = tmp_path / "bin"
    binary.mkdir()
    script = binary / "vercel-job-alerts"
    script.write_text("#!/bin/sh\nexit 3\n")
    script.chmod(0o755)
    with open(tmp_path / "jobs" / "alerts.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert job.run_job(str(tmp_path), str(binary), str(tmp_path / "logs"), "alerts") is None
    assert job.run_job(str(tmp_path), str(binary), str(tmp_path / "logs"), "alerts") == 3
    record = job.read_record(str(tmp_path), "alerts")
    assert record["exit"] == 3 and record["running"] is False and record["finished"] >= record["started"]
