"""The contract, fuzzed: Schemathesis generates requests for every operation of docs/openapi.yaml,
each is signed as the platform signs (most with a real user and their real projects), sent through
nginx, and its answer must be no server error (but the deliberate 503) and valid against the
document: status, content type and body."""

import hashlib
import hmac
import os
import random
import time
import uuid

import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
schema = schemathesis.openapi.from_path(os.path.join(ROOT, "docs", "openapi.yaml"))
session = requests.Session()
EXAMPLES = int(os.environ.get("CONTRACT_EXAMPLES", "25"))


def canonical_target(path_url: str) -> str:
    """PATH[?QUERY with its name=value pairs sorted by name, then by the pair], as DESIGN.md signs."""
    if "?" not in path_url:
        return path_url
    path, query = path_url.split("?", 1)
    if not query:
        return path
    pairs = sorted(query.split("&"), key=lambda pair: (pair.split("=", 1)[0], pair))
    return path + "?" + "&".join(pairs)


def sign(method: str, path_url: str, body: bytes, secret: str) -> dict:
    timestamp = str(int(time.time()))
    nonce = uuid.uuid4().hex
    signed_body = b"" if method in ("GET", "DELETE") else body
    message = f"{method}\n{canonical_target(path_url)}\n{timestamp}\n{nonce}\n".encode() + signed_body
    signature = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return {"x-sheen-sig-v2": signature, "x-sheen-timestamp": timestamp, "x-sheen-nonce": nonce}


def with_real_callers(case, stack, rng):
    """Most requests come from the real user (an administrator on admin routes) about their own
    projects and deployment; the rest keep what Schemathesis made up."""
    caller = stack["admin"] if case.path.startswith("/v1/admin/") else stack["user"]
    if rng.random() < 0.9:
        if case.query is not None and "userId" in case.query:
            case.query["userId"] = caller
        if isinstance(case.body, dict) and "userId" in case.body:
            case.body["userId"] = caller
    if case.path_parameters:
        if "projectId" in case.path_parameters and rng.random() < 0.85:
            case.path_parameters["projectId"] = rng.choice(stack["projects"])
        if "deploymentId" in case.path_parameters and rng.random() < 0.5:
            case.path_parameters["deploymentId"] = stack["deployment"]


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_every_answer_is_in_the_contract(case, stack):
    rng = random.Random(f"{case.method} {case.path} {case.path_parameters} {case.query}")
    with_real_callers(case, stack, rng)
    kwargs = case.as_transport_kwargs(base_url=stack["base_url"])
    try:
        prepared = session.prepare_request(
            requests.Request(
                method=kwargs["method"], url=kwargs["url"], headers=kwargs.get("headers"), params=kwargs.get("params"),
                json=kwargs.get("json"), data=kwargs.get("data"), cookies=kwargs.get("cookies")))
    except (ValueError, UnicodeError):
        return  # a header value no HTTP client can send
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode()
    if case.operation.definition.raw.get("security", [{"platformSignature": []}]):
        prepared.headers.update(sign(prepared.method, prepared.path_url, body, stack["secret"]))
    # A build or runtime log subscription that is let in is an event stream that does not end: its status and
    # type are what the contract says, then the reader hangs up.
    streaming = case.path.endswith(("/logs", "/runtime-logs"))
    try:
        response = session.send(prepared, allow_redirects=False, timeout=30, stream=streaming)
    except requests.exceptions.InvalidHeader:
        return
    if streaming and response.headers.get("content-type", "").startswith("text/event-stream"):
        status = response.status_code
        response.close()
        assert status == 200 and case.method == "GET", f"{case.method} {prepared.path_url}: {status}"
        return
    assert response.status_code < 500 or response.status_code == 503, (
        f"{case.method} {prepared.path_url}: {response.status_code} {response.text[:300]}")
    case.validate_response(
        response, checks=[status_code_conformance, content_type_conformance, response_schema_conformance])
