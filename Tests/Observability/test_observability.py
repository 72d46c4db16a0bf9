"""The shipped monitoring, against the running test stack (scripts/dev test observability).

- deploy/prometheus/rules.yml passes `promtool check rules`, and its unit tests (rules.test.yml)
  pass `promtool test rules`, with a case that fires and one that stays quiet for every alert;
- every query of the dashboard (deploy/grafana/sheen-vercel.json) is accepted by Prometheus's own
  parser, and names only metrics some /metrics page of the stack declares, or the rules record;
- a real Prometheus, started here with the shipped scrape configuration pointed at the stack's
  loopback listener, stores series with no `exported_` label, the host's database figures once,
  every group up, the rules' SLO budgets, and an outbound call to the simulator in the histogram.
"""

import json
import os
import pathlib
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
DASHBOARD = ROOT / "deploy" / "grafana" / "sheen-vercel.json"
GROUPS = ["oauth", "webhooks", "deployments", "env", "domains", "breakglass", "optimization"]


def metrics_url():
    url = os.environ.get("TEST_METRICS_URL")
    if not url:
        pytest.fail("TEST_METRICS_URL is not set: run through scripts/dev test")
    return url


def fetch(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as answer:
        return answer.read().decode()


def promtool(*arguments, cwd=None):
    done = subprocess.run(["promtool", *arguments], cwd=cwd, capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout + done.stderr


def test_the_rules_are_valid_and_their_unit_tests_pass():
    status, said = promtool("check", "rules", "rules.yml", cwd=PROMETHEUS_DIR)
    assert status == 0, said
    status, said = promtool("test", "rules", "rules.test.yml", cwd=PROMETHEUS_DIR)
    assert status == 0, said


def test_every_alert_has_a_firing_and_a_quiet_case():
    rules = yaml.safe_load((PROMETHEUS_DIR / "rules.yml").read_text())
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"] if "alert" in rule}
    assert len(alerts) >= 12
    tests = yaml.safe_load((PROMETHEUS_DIR / "rules.test.yml").read_text())
    firing, quiet = set(), set()
    for case in tests["tests"]:
        for check in case.get("alert_rule_test", []):
            (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    assert alerts - firing == set(), "alerts without a case that fires them"
    assert alerts - quiet == set(), "alerts without a case that keeps them quiet"
    # The SLO alerts fire for each of the four objectives.
    slos = {
        alert["exp_labels"]["slo"]
        for case in tests["tests"]
        for check in case.get("alert_rule_test", [])
        for alert in check.get("exp_alerts") or []
        if check["alertname"] == "SheenVercelErrorBudgetBurnFast"
    }
    assert slos == {"oauth-connections", "deployments", "token-refresh", "webhook-latency"}


def dashboard_queries():
    dashboard = json.loads(DASHBOARD.read_text())
    queries = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            queries.append((panel["title"], target["expr"]))
    return dashboard, queries


def declared_metric_names():
    """Every family a page of the stack declares (its # TYPE lines), with a histogram's series."""
    names = set()
    for path in GROUPS + ["host"]:
        for line in fetch(f"{metrics_url()}/metrics/{path}").splitlines():
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split(" ", 3)
                names.add(name)
                if kind == "histogram":
                    names.update({name + "_bucket", name + "_sum", name + "_count"})
    return names


def test_the_dashboards_queries_parse_and_name_real_metrics():
    dashboard, queries = dashboard_queries()
    assert len(queries) >= 30
    assert dashboard["uid"] and "id" not in dashboard, "a provisioned dashboard has a uid and no id"
    # Prometheus's parser, through promtool: each query as a recording rule of a generated file.
    rules = {"groups": [{"name": "dashboard", "rules": []}]}
    for index, (_, expr) in enumerate(queries):
        concrete = expr.replace("$group", ".+").replace("$__rate_interval", "5m")
        rules["groups"][0]["rules"].append({"record": f"dashboard:panel_{index}", "expr": concrete})
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as generated:
        yaml.safe_dump(rules, generated)
    try:
        status, said = promtool("check", "rules", generated.name)
        assert status == 0, said
    finally:
        os.unlink(generated.name)

    recorded = {
        rule["record"]
        for group in yaml.safe_load((PROMETHEUS_DIR / "rules.yml").read_text())["groups"]
        for rule in group["rules"]
        if "record" in rule
    }
    declared = declared_metric_names() | {"up"}
    functions = {"sum", "max", "min", "rate", "increase", "topk", "histogram_quantile", "time", "by", "without",
                 "or", "and", "on", "round", "vector"}
    for title, expr in queries:
        # Outside label matchers and strings: each identifier that is not a function, keyword or label.
        bare = re.sub(r"\{[^}]*\}|\"[^\"]*\"|\[[^\]]*\]", "", expr)
        bare = re.sub(r"\b(by|without)\s*\([^)]*\)", "", bare)
        for name in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", bare):
            if name in functions:
                continue
            if ":" in name:
                assert name in recorded, f"{title}: {name} is no recording rule of rules.yml"
            else:
                assert name in declared, f"{title}: {name} is on no /metrics page"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def query(base, promql):
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    answer = json.loads(fetch(url))
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


@pytest.fixture(scope="module")
def prometheus():
    if not shutil.which("prometheus"):
        pytest.fail("prometheus is not installed (Debian's prometheus package)")
    listener = urllib.parse.urlparse(metrics_url()).netloc
    work = pathlib.Path(tempfile.mkdtemp(prefix="prometheus-"))
    config = yaml.safe_load((PROMETHEUS_DIR / "scrape.yml").read_text())
    # The shipped job as it is, but for the stack's listener, the rules in this checkout and a
    # short interval.
    config["global"]["scrape_interval"] = "1s"
    config["global"]["evaluation_interval"] = "1s"
    for job in config["scrape_configs"]:
        job["scrape_timeout"] = "1s"
    config["rule_files"] = [str(PROMETHEUS_DIR / "rules.yml")]
    for job in config["scrape_configs"]:
        for group in job["static_configs"]:
            assert group["targets"] == ["127.0.0.1:9180"]
            group["targets"] = [listener]
    (work / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = open(work / "prometheus.log", "w")
    process = subprocess.Popen(
        ["prometheus", f"--config.file={work / 'prometheus.yml'}", f"--storage.tsdb.path={work / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                ups = query(base, 'up{job="sheen-vercel"}')
                budgets = query(base, "sheen_vercel:slo_error_budget")
                if len(ups) == 8 and len(budgets) == 4:
                    break
            except OSError:
                pass
            if process.poll() is not None:
                break
            time.sleep(0.5)
        if process.poll() is not None:
            log.flush()
            pytest.fail("prometheus ended: " + (work / "prometheus.log").read_text()[-2000:])
        # A few scrapes of each target.
        time.sleep(4)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
        shutil.rmtree(work, ignore_errors=True)


def test_prometheus_stores_every_group_up_through_the_shipped_configuration(prometheus):
    ups = query(prometheus, 'up{job="sheen-vercel"}')
    assert sorted(series["metric"]["group"] for series in ups) == sorted(GROUPS + ["host"])
    assert all(series["value"][1] == "1" for series in ups), ups


def test_no_stored_series_has_an_exported_label(prometheus):
    names = json.loads(fetch(f"{prometheus}/api/v1/labels"))["data"]
    assert names and not [name for name in names if name.startswith("exported_")], names
    # Job runs name their job as job_name; `job` is the scrape job's.
    runs = query(prometheus, "sheen_vercel_job_runs_total")
    assert runs and all(series["metric"]["job"] == "sheen-vercel" for series in runs)
    assert all("job_name" in series["metric"] for series in runs)


def test_the_databases_figures_are_stored_once(prometheus):
    for family in ["sheen_vercel_database_up", "sheen_vercel_audit_checkpoint_age_seconds"]:
        stored = query(prometheus, family)
        assert len(stored) == 1, (family, stored)
        assert stored[0]["metric"]["group"] == "host"
    breakers = query(prometheus, "sheen_vercel_circuit_breakers")
    assert sorted(series["metric"]["state"] for series in breakers) == ["closed", "open"]
    periods = query(prometheus, "sheen_vercel_job_period_seconds")
    assert len(periods) == len({series["metric"]["job_name"] for series in periods}) == 12
    # The process's figures are each function's own.
    memory = query(prometheus, "process_resident_memory_bytes")
    assert sorted(series["metric"]["group"] for series in memory) == sorted(GROUPS)


def test_an_outbound_call_to_the_simulator_is_in_the_histogram(prometheus):
    calls = query(
        prometheus, 'sum by (endpoint) (sheen_vercel_outbound_request_duration_seconds_count{remote="vercel"})')
    endpoints = {series["metric"]["endpoint"] for series in calls if float(series["value"][1]) > 0}
    assert endpoints, calls
    # Templates, never ids.
    assert all(re.fullmatch(r"(/[a-z0-9_-]+|/\{\})+", endpoint) for endpoint in endpoints), endpoints
    assert query(prometheus, "sheen_vercel:slo_error_budget")
