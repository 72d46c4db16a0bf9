"""A client generated from the contract, by a standard generator, drives the walk-through.

openapi-python-client (pinned in scripts/dev) generates a typed Python client from
docs/openapi.yaml; the generator must not warn. The walk-through's calls are then made with it
against the test stack (nginx, the functions, Postgres, the simulator): connect an account, link a
project, deploy its files, watch the deployment, set and list a variable, read domains, the
analytics and, as an admin, the dead jobs; and the errors a frontend handles. Each answer must
parse into the type the generator made for that route and status, and be that type entirely: no
field the type does not declare (the generator keeps those aside, in `additional_properties`), and
the parsed value written back is the answer as it came.
"""
import datetime
import hashlib
import hmac
import importlib
import json
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest

from conftest import sql, stack_settings

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """The generated package, imported."""
    directory = tmp_path_factory.mktemp("client")
    config = directory / "config.yml"
    config.write_text("post_hooks: []\nproject_name_override: sheen_client\npackage_name_override: sheen_client\n")
    run = subprocess.run(
        ["openapi-python-client", "generate", "--path", os.path.join(ROOT, "docs", "openapi.yaml"), "--config",
         str(config), "--meta", "none", "--output-path", str(directory / "sheen_client")],
        capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "warning" not in (run.stdout + run.stderr).lower(), run.stdout + run.stderr
    sys.path.insert(0, str(directory))
    try:
        yield importlib.import_module("sheen_client")
    finally:
        sys.path.remove(str(directory))


def sorted_query(raw):
    pairs = [pair for pair in raw.split("&") if pair]
    return "&".join(sorted(pairs, key=lambda pair: (pair.split("=", 1)[0], pair)))


@pytest.fixture(scope="module")
def client(generated):
    """The generated client, each request signed as the platform's backend signs it."""
    secret = stack_settings()["SHEEN_HMAC_SECRET"].encode()

    def sign(request):
        path, _, query = request.url.raw_path.decode().partition("?")
        target = path + ("?" + sorted_query(query) if query else "")
        timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
        body = b"" if request.method in ("GET", "DELETE") else request.content
        message = "\n".join([request.method, target, timestamp, nonce]).encode() + b"\n" + body
        request.headers["x-sheen-sig-v2"] = hmac.new(secret, message, hashlib.sha256).hexdigest()
        request.headers["x-sheen-timestamp"] = timestamp
        request.headers["x-sheen-nonce"] = nonce

    return generated.Client(base_url=os.environ["TEST_BASE_URL"], timeout=30.0,
                            httpx_args={"event_hooks": {"request": [sign]}})


def operation(name):
    """The generated module of an operation (the generator spells `v1` as `v_1` before a path
    parameter)."""
    for spelling in (name, name.replace("_v1_", "_v_1_")):
        try:
            return importlib.import_module("sheen_client.api.default." + spelling)
        except ModuleNotFoundError:
            continue
    raise AssertionError("the generated client has no operation " + name)


def model(name):
    return getattr(importlib.import_module("sheen_client.models"), name)


DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def normalized(value):
    """JSON with its date-times as instants: the generated types write `+00:00` where the service
    writes `Z`, and microseconds where it writes milliseconds; the instant is the same."""
    if isinstance(value, dict):
        return {key: normalized(item) for key, item in value.items()}
    if isinstance(value, list):
        return [normalized(item) for item in value]
    if isinstance(value, str) and DATE_TIME.match(value):
        return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value


def wholly(value, raw, where="answer"):
    """value (a parsed answer) declares every field of raw, at every depth, and writes back as raw."""
    if hasattr(value, "additional_properties"):
        declared = [field.name for field in type(value).__attrs_attrs__ if field.name != "additional_properties"]
        if declared:
            assert value.additional_properties == {}, "%s: fields the contract does not declare: %s" % (
                where, sorted(value.additional_properties))
        else:
            # A map the contract declares as one (`additionalProperties: {schema}`): its values are typed.
            for key, item in value.additional_properties.items():
                wholly(item, None, "%s[%r]" % (where, key))
        for name in type(value).__attrs_attrs__:
            if name.name != "additional_properties":
                wholly(getattr(value, name.name), None, where + "." + name.name)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            wholly(item, None, "%s[%d]" % (where, index))
    if raw is not None:
        assert normalized(value.to_dict()) == normalized(raw), "%s parses as %s, which writes back otherwise" % (where, type(value).__name__)


def call(module_name, expected_status, expected_type, **arguments):
    """One call through the generated function; its answer parsed into the generated type."""
    response = operation(module_name).sync_detailed(**arguments)
    raw = json.loads(response.content) if response.content else None
    assert response.status_code == expected_status, "%s answered %d: %s" % (
        module_name, response.status_code, response.content[:500])
    parsed = response.parsed
    assert type(parsed).__name__ == expected_type, "%s parsed as %s" % (module_name, type(parsed).__name__)
    wholly(parsed, raw, module_name)
    return parsed


def consent(url):
    """The simulator's consent page, approved by a person's account, back through the callback."""
    simulator = os.environ["TEST_SIMULATOR_URL"]
    username = "person" + uuid.uuid4().hex[:8]
    request = urllib.request.Request(simulator + "/_sim/accounts", method="POST", headers={"content-type": "application/json"},
                                     data=json.dumps({"username": username, "person": True}).encode())
    with urllib.request.urlopen(request, timeout=10) as answer:
        token = json.load(answer)["token"]
    run = subprocess.run([os.path.join(ROOT, "scripts", "consent"), url, username], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    return run.stdout.strip(), token


def test_the_walkthrough_with_a_client_generated_from_the_contract(generated, client):
    user = sql(f"INSERT INTO users (email) VALUES ('client-{uuid.uuid4().hex[:8]}@example.com') RETURNING id")
    admin = sql(f"INSERT INTO users (email, role) VALUES ('client-admin-{uuid.uuid4().hex[:8]}@example.com', 'admin') RETURNING id")
    project = sql(f"INSERT INTO projects (owner_id, name) VALUES ('{user}', 'generated-client') RETURNING id")
    files = os.path.join(stack_settings()["SHEEN_PROJECTS_ROOT"], project)
    os.makedirs(files, exist_ok=True)
    for name in ("index.html", "style.css"):
        with open(os.path.join(ROOT, "scripts", "demo-site", name), "rb") as source, \
                open(os.path.join(files, name), "wb") as target:
            target.write(source.read())

    started = call("post_v1_internal_vercel_oauth_initiate", 200, "PostV1InternalVercelOauthInitiateResponse200",
                   client=client, body=model("PostV1InternalVercelOauthInitiateBody")(user_id=user))
    confirmation, _ = consent(started.authorization_url)
    confirmed = call("post_v1_internal_vercel_oauth_confirm", 200, "PostV1InternalVercelOauthConfirmResponse200",
                     client=client,
                     body=model("PostV1InternalVercelOauthConfirmBody")(user_id=user, confirmation=confirmation))
    assert confirmed.connected is True
    again = call("post_v1_internal_vercel_oauth_confirm", 404, "PostV1InternalVercelOauthConfirmResponse404",
                 client=client,
                 body=model("PostV1InternalVercelOauthConfirmBody")(user_id=user, confirmation=confirmation))
    assert again.code.value == "CONFIRMATION_INVALID"
    status = call("get_v1_internal_vercel_oauth_status", 200, "GetV1InternalVercelOauthStatusResponse200",
                  client=client, user_id=user)
    assert status.connected is True

    link_body = model("PostV1ProjectsProjectIdVercelProjectsLinkBody")
    create = model("PostV1ProjectsProjectIdVercelProjectsLinkBodyCreateProject")
    linked = call("post_v1_projects_project_id_vercel_projects_link", 200,
                  "PostV1ProjectsProjectIdVercelProjectsLinkResponse200", project_id=project, client=client,
                  body=link_body(user_id=user, create_project=create(name="generated-" + uuid.uuid4().hex[:6])))
    assert linked.linked is True
    refused = call("post_v1_projects_project_id_vercel_projects_link", 409,
                   "PostV1ProjectsProjectIdVercelProjectsLinkResponse409", project_id=project, client=client,
                   body=link_body(user_id=user, create_project=create(name="another")))
    assert refused.code.value == "PROJECT_ALREADY_LINKED"
    call("get_v1_projects_project_id_vercel_projects_vercel_project_id", 200,
         "GetV1ProjectsProjectIdVercelProjectsVercelProjectIdResponse200", project_id=project,
         vercel_project_id=linked.vercel_project_id, client=client, user_id=user)

    deploy_body = model("PostV1ProjectsProjectIdVercelDeployBody")
    kind = model("PostV1ProjectsProjectIdVercelDeployBodyDeploymentType")
    deployed = call("post_v1_projects_project_id_vercel_deploy", 202, "PostV1ProjectsProjectIdVercelDeployResponse202",
                    project_id=project, client=client, body=deploy_body(user_id=user, deployment_type=kind("preview")))
    deployment = deployed.deployment.id
    for _ in range(60):
        watched = call("get_v1_projects_project_id_vercel_deployments_deployment_id", 200,
                       "GetV1ProjectsProjectIdVercelDeploymentsDeploymentIdResponse200", project_id=project,
                       deployment_id=deployment, client=client, user_id=user)
        if watched.deployment.state.value == "READY":
            break
        time.sleep(0.5)
    assert watched.deployment.state.value == "READY"
    listed = call("get_v1_projects_project_id_vercel_deployments", 200,
                  "GetV1ProjectsProjectIdVercelDeploymentsResponse200", project_id=project, client=client,
                  user_id=user)
    assert [item.id for item in listed.deployments] == [deployment] and listed.stats.total == 1
    # A branch of a project that has no repository: refused, in the type of its status.
    unconnected = call("post_v1_projects_project_id_vercel_deploy", 422,
                       "PostV1ProjectsProjectIdVercelDeployResponse422", project_id=project, client=client,
                       body=deploy_body(user_id=user, deployment_type=kind("preview"),
                                        git_source=model("PostV1ProjectsProjectIdVercelDeployBodyGitSource")(
                                            branch="feature")))
    assert unconnected.code.value == "NO_GIT_REPOSITORY"

    put_body = model("PutV1ProjectsProjectIdVercelEnvKeyBody")
    target = model("PutV1ProjectsProjectIdVercelEnvKeyBodyTargetItem")
    written = call("put_v1_projects_project_id_vercel_env_key", 200, "PutV1ProjectsProjectIdVercelEnvKeyResponse200",
                   project_id=project, key="API_URL", client=client,
                   body=put_body(user_id=user, value="https://api.example.com", target=[target("preview")]))
    assert written.variable.key == "API_URL" and written.vercel.status.value == "applied"
    call("get_v1_projects_project_id_vercel_env", 200, "GetV1ProjectsProjectIdVercelEnvResponse200",
         project_id=project, client=client, user_id=user)
    call("get_v1_projects_project_id_vercel_domains", 200, "GetV1ProjectsProjectIdVercelDomainsResponse200",
         project_id=project, client=client, user_id=user)
    call("get_v1_projects_project_id_vercel_optimization_history", 200,
         "GetV1ProjectsProjectIdVercelOptimizationHistoryResponse200", project_id=project, client=client,
         user_id=user)
    call("get_v1_projects_project_id_vercel_optimization_analysis", 200,
         "GetV1ProjectsProjectIdVercelOptimizationAnalysisResponse200", project_id=project, client=client,
         user_id=user)
    call("get_v1_admin_vercel_jobs", 200, "GetV1AdminVercelJobsResponse200", client=client, user_id=admin)
    stranger = call("get_v1_admin_vercel_jobs", 403, "GetV1AdminVercelJobsResponse403", client=client, user_id=user)
    assert stranger.code.value == "ADMIN_REQUIRED"
