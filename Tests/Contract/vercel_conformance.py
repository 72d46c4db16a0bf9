"""The simulator's answers checked against Vercel's own OpenAPI document (its December 2023 copy,
Tests/Fixtures/vercel-2023/openapi.json, or the file VERCEL_OPENAPI names).

Every route the simulator serves is called once per shape it can send (the `/_sim/shapes` knob
switches each variant on for one account), and each answer is validated against the response
schema the document gives for its operation and status. The document's own flaws are named
exceptions, each with the reason; anything else that does not conform is a failure.

Run alone: `python3 Tests/Contract/vercel_conformance.py http://127.0.0.1:PORT` prints the report;
`test_vercel_conformance.py` runs it in the contract suite.
"""

import copy
import hashlib
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

# The simulator's paths and the document's operations (the document of 2023 names older versions
# of some paths: /v9/projects for /v10 and /v11, /v2 events for /v3, /v9 env for /v10).
OPERATIONS = {
    ("GET", "/v2/user"): "getAuthUser",
    ("GET", "/v2/teams"): "getTeams",
    ("GET", "/v10/projects"): "getProjects",
    ("POST", "/v11/projects"): "createProject",
    ("GET", "/v9/projects/{idOrName}"): "getProject",
    ("PATCH", "/v9/projects/{idOrName}"): "updateProject",
    ("GET", "/v10/projects/{idOrName}/env"): "filterProjectEnvs",
    ("POST", "/v10/projects/{idOrName}/env"): "createProjectEnv",
    ("GET", "/v1/projects/{idOrName}/env/{id}"): "getProjectEnv",
    ("PATCH", "/v9/projects/{idOrName}/env/{id}"): "editProjectEnv",
    ("DELETE", "/v9/projects/{idOrName}/env/{id}"): "removeProjectEnv",
    ("POST", "/v2/files"): "uploadFile",
    ("POST", "/v13/deployments"): "createDeployment",
    ("GET", "/v13/deployments/{idOrUrl}"): "getDeployment",
    ("GET", "/v6/deployments"): "getDeployments",
    ("GET", "/v3/deployments/{idOrUrl}/events"): "getDeploymentEvents",
    ("PATCH", "/v12/deployments/{id}/cancel"): "cancelDeployment",
    ("POST", "/v10/projects/{idOrName}/domains"): "addProjectDomain",
    ("GET", "/v9/projects/{idOrName}/domains"): "getProjectDomains",
    ("GET", "/v9/projects/{idOrName}/domains/{domain}"): "getProjectDomain",
    ("PATCH", "/v9/projects/{idOrName}/domains/{domain}"): "updateProjectDomain",
    ("POST", "/v9/projects/{idOrName}/domains/{domain}/verify"): "verifyProjectDomain",
    ("DELETE", "/v9/projects/{idOrName}/domains/{domain}"): "removeProjectDomain",
    ("GET", "/v6/domains/{domain}/config"): "getDomainConfig",
    ("POST", "/v2/deployments/{id}/aliases"): "assignAlias",
    ("GET", "/v1/integrations/configuration/{id}"): "getConfiguration",
    ("POST", "/v1/deployments/{deploymentId}/checks"): "createCheck",
    ("GET", "/v1/deployments/{deploymentId}/checks"): "getAllChecks",
    ("GET", "/v1/deployments/{deploymentId}/checks/{checkId}"): "getCheck",
    ("PATCH", "/v1/deployments/{deploymentId}/checks/{checkId}"): "updateCheck",
    ("POST", "/v1/deployments/{deploymentId}/checks/{checkId}/rerequest"): "rerequestCheck",
}

# The document's flaws, by name: why an answer that follows Vercel as it is today still fails it.
FLAWS = {
    "node-version-enum": "the document's nodeVersion enum stops at 18.x; Vercel serves 20.x and 22.x",
    "undeclared-404": "the document declares no 404 for an operation whose resource can be missing",
    "overlapping-union": "a oneOf whose branches overlap, so a valid answer matches more than one",
    "flat-build-events": "the document knows only the wrapped build event form; Vercel sends flat events "
    "since (VERCEL-FACTS, CLI BuildLog), checked against that shape instead",
    "env-custom-environment": "the document's env variable requires target; one of a custom environment "
    "has customEnvironmentIds and no target (Vercel's SDK models of 2026)",
    "env-missing-id": "the document's env variable requires id; Vercel's 2026 models make it optional",
    "env-created-absent": "the document requires a create's `created`; Vercel's 2026 models make it optional "
    "(it writes all the same)",
    "link-cursor-origin": "the document's link union knows github, gitlab and bitbucket; Vercel's 2026 models add "
    "cursor-origin, whose repoId is a string",
    "undocumented-operation": "an operation Vercel serves that the 2023 document does not describe",
}

# A line of a deployment's runtime logs, which the 2023 document does not describe: Vercel's SDK
# (src/models/getruntimelogsop.ts, GetRuntimeLogsResponseBody) streams each as one JSON line.
RUNTIME_LOGS = "/v1/projects/{projectId}/deployments/{deploymentId}/runtime-logs"
RUNTIME_LOG = {
    "type": "object",
    "required": ["level", "message", "rowId", "source", "timestampInMs", "domain", "messageTruncated",
                 "requestMethod", "requestPath", "responseStatusCode"],
    "properties": {
        "level": {"enum": ["trace", "debug", "info", "warning", "error", "fatal"]},
        "message": {"type": "string"},
        "rowId": {"type": "string"},
        "source": {"enum": ["delimiter", "edge-function", "edge-middleware", "serverless", "request"]},
        "timestampInMs": {"type": "number"},
        "domain": {"type": "string"},
        "messageTruncated": {"type": "boolean"},
        "requestMethod": {"type": "string"},
        "requestPath": {"type": "string"},
        "responseStatusCode": {"type": "number"},
    },
}

# Vercel's flat build event (VERCEL-FACTS "Shapes as of 2026"; the CLI's BuildLog type).
FLAT_EVENT = {
    "oneOf": [
        {"type": "null"},
        {
            "type": "object",
            "required": ["type"],
            "properties": {
                "type": {"type": "string"},
                "created": {"type": "number"},
                "date": {"type": "number"},
                "deploymentId": {"type": "string"},
                "id": {"type": "string"},
                "serial": {"type": "string"},
                "text": {"type": "string"},
                "level": {"enum": ["error", "warning"]},
                "info": {
                    "type": "object",
                    "required": ["type", "name"],
                    "properties": {
                        "type": {"type": "string"}, "name": {"type": "string"}, "entrypoint": {"type": "string"},
                        "path": {"type": "string"}, "step": {"type": "string"}, "readyState": {"type": "string"},
                    },
                },
            },
            "anyOf": [
                {"required": ["created", "date", "deploymentId", "id", "info", "serial"]},
                {"not": {"required": ["created"]}},
            ],
        },
    ]
}


def document_path() -> str:
    if os.environ.get("VERCEL_OPENAPI"):
        return os.environ["VERCEL_OPENAPI"]
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.normpath(os.path.join(here, "..", "Fixtures", "vercel-2023", "openapi.json"))


def as_json_schema(node):
    """OpenAPI 3.0 schema objects as JSON Schema: `nullable` becomes a null type (and a null in an
    enum); the rest is kept."""
    if isinstance(node, list):
        return [as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: as_json_schema(value) for key, value in node.items()}
    if converted.pop("nullable", False) is True:
        if "type" in converted:
            kinds = converted["type"] if isinstance(converted["type"], list) else [converted["type"]]
            converted["type"] = kinds + ["null"]
        if "enum" in converted:
            converted["enum"] = converted["enum"] + [None]
        if "$ref" in converted or "oneOf" in converted or "anyOf" in converted or "allOf" in converted:
            converted = {"anyOf": [{"type": "null"}, converted]}
    converted.pop("discriminator", None)
    return converted


class Document:
    def __init__(self, path: str):
        with open(path) as source:
            raw = json.load(source)
        self.raw = raw
        converted = as_json_schema(raw)
        self.registry = Registry().with_resource("urn:vercel", Resource.from_contents(converted, default_specification=DRAFT7))
        self.operations = {}
        for path_, operations in raw["paths"].items():
            for method, operation in operations.items():
                if isinstance(operation, dict) and "operationId" in operation:
                    self.operations[operation["operationId"]] = (path_, method)

    def schema(self, operation: str, status: int):
        """The response schema of `operation` at `status`: a JSON Schema, None when the status is
        declared without a body schema, or "undeclared"."""
        path, method = self.operations[operation]
        responses = self.raw["paths"][path][method]["responses"]
        if str(status) not in responses:
            return "undeclared"
        content = responses[str(status)].get("content", {})
        if "application/json" not in content or "schema" not in content["application/json"]:
            return None
        pointer = "/paths/" + path.replace("~", "~0").replace("/", "~1") + f"/{method}/responses/{status}/content/application~1json/schema"
        return {"$ref": "urn:vercel#" + pointer}

    def errors(self, schema, body):
        validator = jsonschema.Draft7Validator(schema, registry=self.registry)
        return sorted(validator.iter_errors(body), key=lambda error: list(error.absolute_path))


def flaws_of(error) -> str:
    """The named flaw an error is, or None."""
    path = list(error.absolute_path)
    if error.validator == "enum" and path and path[-1] == "nodeVersion":
        return "node-version-enum"
    if error.validator == "oneOf" and "is valid under each of" in error.message:
        return "overlapping-union"
    for context in error.context or []:
        nested = flaws_of(context)
        if nested:
            return nested
    return None


class Simulator:
    def __init__(self, base: str):
        self.base = base.rstrip("/")

    def call(self, method, path, body=None, token=None, raw=None, headers=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None and raw is None:
            request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", "Bearer " + token)
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, text = response.status, response.read()
        except urllib.error.HTTPError as failure:
            status, text = failure.code, failure.read()
        return status, (json.loads(text) if text.strip() else None)


def scenario(sim: Simulator, shapes: list):
    """Every simulated route once, for an account with `shapes` switched on: (method, template,
    status, body) per answer."""
    answers = []
    _, account = sim.call("POST", "/_sim/accounts", {"username": "conform-" + uuid.uuid4().hex[:6], "teams": ["acme"]})
    token = account["token"]
    if shapes:
        status, _ = sim.call("PUT", "/_sim/shapes", {"variants": shapes}, token=token)
        assert status == 200, f"the simulator has no shape knob for {shapes}"
    sim.call("PUT", "/_sim/faults", {"buildMs": 300}, token=token)

    def record(method, template, path, body=None, **options):
        status, answer = sim.call(method, path, body, token=token, **options)
        answers.append((method, template, status, answer))
        return status, answer

    record("GET", "/v2/user", "/v2/user")
    record("GET", "/v2/teams", "/v2/teams")
    _, project = record(
        "POST", "/v11/projects", "/v11/projects",
        {"name": "conform-" + uuid.uuid4().hex[:6], "framework": "nextjs", "gitRepository": {"type": "github", "repo": "acme/site"}})
    pid = project["id"]
    record("GET", "/v10/projects", "/v10/projects")
    record("GET", "/v9/projects/{idOrName}", f"/v9/projects/{pid}")
    record("PATCH", "/v9/projects/{idOrName}", f"/v9/projects/{pid}", {"buildCommand": "npm run build"})
    record("POST", "/v10/projects/{idOrName}/env", f"/v10/projects/{pid}/env?upsert=true",
           [{"key": "API_URL", "value": "https://api.example.com", "type": "plain", "target": ["preview"]},
            {"key": "TOKEN", "value": "t0ken", "type": "encrypted", "target": ["production", "preview"]}])
    _, listed = record("GET", "/v10/projects/{idOrName}/env", f"/v10/projects/{pid}/env")
    ids = [env["id"] for env in (listed or {}).get("envs", []) if env.get("id")]
    if ids:
        record("GET", "/v1/projects/{idOrName}/env/{id}", f"/v1/projects/{pid}/env/{ids[0]}")
        record("PATCH", "/v9/projects/{idOrName}/env/{id}", f"/v9/projects/{pid}/env/{ids[0]}", {"value": "https://b.example.com"})
        record("DELETE", "/v9/projects/{idOrName}/env/{id}", f"/v9/projects/{pid}/env/{ids[0]}")
    record("GET", "/v1/projects/{idOrName}/env/{id}", f"/v1/projects/{pid}/env/nope")

    content = b"<h1>conform</h1>"
    digest = hashlib.sha1(content).hexdigest()
    record("POST", "/v2/files", "/v2/files", raw=content,
           headers={"Content-Type": "application/octet-stream", "x-vercel-digest": digest})
    _, deployment = record(
        "POST", "/v13/deployments", f"/v13/deployments",
        {"name": project["name"], "project": pid, "target": "production",
         "files": [{"file": "index.html", "sha": digest, "size": len(content)}]})
    did = deployment["id"]
    time.sleep(0.5)
    record("GET", "/v13/deployments/{idOrUrl}", f"/v13/deployments/{did}")
    record("GET", "/v6/deployments", f"/v6/deployments?projectId={pid}")
    record("GET", "/v3/deployments/{idOrUrl}/events", f"/v3/deployments/{did}/events")
    record("GET", "/v13/deployments/{idOrUrl}", "/v13/deployments/dpl_missing")
    # Runtime logs from now: a stream kept open 1.5 s here, a line logged while it is.
    sim.call("PUT", "/_sim/faults", {"buildMs": 300, "runtimeLogsMs": 1500}, token=token)
    streamed = []

    def follow():
        request = urllib.request.Request(
            sim.base + f"/v1/projects/{pid}/deployments/{did}/runtime-logs",
            headers={"Authorization": "Bearer " + token, "Accept": "application/stream+json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            streamed.append((response.status, response.read()))

    follower = threading.Thread(target=follow)
    follower.start()
    time.sleep(0.4)
    sim.call("POST", f"/_sim/deployments/{did}/runtime-logs",
             {"level": "error", "message": "TypeError: x is undefined", "path": "/api", "status": 500}, token=token)
    follower.join()
    status, text = streamed[0]
    answers.append(("GET", RUNTIME_LOGS, status, [json.loads(line) for line in text.splitlines() if line.strip()]))
    sim.call("PUT", "/_sim/faults", {"buildMs": 300}, token=token)
    _, building = sim.call("POST", "/v13/deployments", {"name": project["name"], "project": pid,
                                                        "gitSource": {"type": "github", "org": "acme", "repo": "site", "ref": "main"}}, token=token)
    record("PATCH", "/v12/deployments/{id}/cancel", f"/v12/deployments/{building['id']}/cancel")
    _, checked = sim.call("POST", "/v13/deployments", {"name": project["name"], "project": pid,
                                                       "gitSource": {"type": "github", "org": "acme", "repo": "site", "ref": "main"}}, token=token)
    checks = f"/v1/deployments/{checked['id']}/checks"
    _, check = record("POST", "/v1/deployments/{deploymentId}/checks", checks,
                      {"name": "Smoke", "blocking": True, "path": "/", "rerequestable": True})
    record("GET", "/v1/deployments/{deploymentId}/checks", checks)
    record("GET", "/v1/deployments/{deploymentId}/checks/{checkId}", f"{checks}/{check['id']}")
    record("PATCH", "/v1/deployments/{deploymentId}/checks/{checkId}", f"{checks}/{check['id']}",
           {"status": "completed", "conclusion": "failed", "detailsUrl": "https://example.com/run/1"})
    record("POST", "/v1/deployments/{deploymentId}/checks/{checkId}/rerequest", f"{checks}/{check['id']}/rerequest")
    record("GET", "/v1/deployments/{deploymentId}/checks/{checkId}", f"{checks}/chk_missing")
    record("GET", "/v13/deployments/{idOrUrl}", f"/v13/deployments/{checked['id']}")

    domain = f"www.conform-{uuid.uuid4().hex[:6]}.example.com"
    record("POST", "/v10/projects/{idOrName}/domains", f"/v10/projects/{pid}/domains", {"name": domain})
    record("GET", "/v9/projects/{idOrName}/domains", f"/v9/projects/{pid}/domains")
    record("GET", "/v9/projects/{idOrName}/domains/{domain}", f"/v9/projects/{pid}/domains/{domain}")
    record("POST", "/v9/projects/{idOrName}/domains/{domain}/verify", f"/v9/projects/{pid}/domains/{domain}/verify")
    record("GET", "/v6/domains/{domain}/config", f"/v6/domains/{domain}/config")
    record("POST", "/v2/deployments/{id}/aliases", f"/v2/deployments/{did}/aliases", {"alias": f"alias-{uuid.uuid4().hex[:6]}.vercel.app"})
    record("DELETE", "/v9/projects/{idOrName}/domains/{domain}", f"/v9/projects/{pid}/domains/{domain}")
    record("GET", "/v9/projects/{idOrName}", "/v9/projects/prj_missing")

    configuration = account.get("configurationId")
    status, made = sim.call("POST", "/_sim/configurations", {}, token=token)
    if status == 201:
        configuration = made["id"]
    if configuration:
        record("GET", "/v1/integrations/configuration/{id}", f"/v1/integrations/configuration/{configuration}")
    return answers


def judge(document: Document, answers):
    """Each answer: ("conforms"|"flaw"|"fails", detail)."""
    verdicts = []
    for method, template, status, body in answers:
        operation = OPERATIONS.get((method, template))
        if template == RUNTIME_LOGS:
            errors = list(jsonschema.Draft7Validator({"type": "array", "minItems": 1, "items": RUNTIME_LOG}).iter_errors(body))
            if status != 200 or errors:
                verdicts.append((method, template, status, "fails", "; ".join(error.message[:160] for error in errors[:3])))
            else:
                verdicts.append((method, template, status, "flaw", "undocumented-operation"))
            continue
        if operation is None:
            verdicts.append((method, template, status, "flaw", "undocumented-operation"))
            continue
        schema = document.schema(operation, status)
        if schema == "undeclared":
            if status == 404:
                verdicts.append((method, template, status, "flaw", "undeclared-404"))
            else:
                verdicts.append((method, template, status, "fails", f"status {status} is not declared"))
            continue
        if schema is None:
            verdicts.append((method, template, status, "conforms", ""))
            continue
        named = set()
        if operation == "getDeploymentEvents" and isinstance(body, list) and any(
                isinstance(item, dict) and "payload" not in item for item in body):
            schema = {"type": "array", "items": FLAT_EVENT}
            named.add("flat-build-events")
        unexplained = []
        for error in document.errors(schema, body):
            flaw = flaws_of(error) or shape_flaw(operation, error, body)
            if flaw:
                named.add(flaw)
            else:
                unexplained.append(f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message[:160]}")
        if unexplained:
            verdicts.append((method, template, status, "fails", "; ".join(unexplained[:3])))
        elif named:
            verdicts.append((method, template, status, "flaw", ",".join(sorted(named))))
        else:
            verdicts.append((method, template, status, "conforms", ""))
    return verdicts


def shape_flaw(operation, error, body):
    """Flaws of the 2023 document about shapes Vercel's 2026 models allow."""
    path = list(error.absolute_path)
    if operation in ("filterProjectEnvs", "getProjectEnv", "createProjectEnv") and error.validator in ("required", "oneOf", "anyOf"):
        if "'target' is a required property" in error.message or _mentions_custom_environment(error, body):
            return "env-custom-environment"
        if "'id' is a required property" in error.message:
            return "env-missing-id"
    if operation == "createProjectEnv" and "'created' is a required property" in error.message:
        return "env-created-absent"
    if operation in ("getProjects", "createProject", "getProject", "updateProject") and path and path[-1] == "link":
        if isinstance(error.instance, dict) and error.instance.get("type") == "cursor-origin":
            return "link-cursor-origin"
    return None


def _mentions_custom_environment(error, body):
    item = body
    for step in list(error.absolute_path):
        try:
            item = item[step]
        except (KeyError, IndexError, TypeError):
            return False
    def has(value):
        if isinstance(value, dict):
            if value.get("customEnvironmentIds") and "target" not in value:
                return True
            return any(has(v) for v in value.values())
        if isinstance(value, list):
            return any(has(v) for v in value)
        return False
    return has(item)


SHAPES = [
    [],
    ["wrappedEvents"],
    ["envStringTarget", "envCustomEnvironment", "envMissingIds", "envCreatedObject"],
    ["envCreatedAbsent"],
    ["cursorOriginLinks"],
    ["gitlabLinks"],
    ["bitbucketLinks"],
    ["stagedProduction"],
]


def run(base: str, shapes_list=None):
    document = Document(document_path())
    sim = Simulator(base)
    report = []
    for shapes in (SHAPES if shapes_list is None else shapes_list):
        for verdict in judge(document, scenario(sim, shapes)):
            report.append(("+".join(shapes) or "default",) + verdict)
    return report


def main():
    base = sys.argv[1] if len(sys.argv) > 1 else os.environ["TEST_SIMULATOR_URL"]
    only_default = "--default" in sys.argv
    report = run(base, [[]] if only_default else None)
    for shape, method, template, status, verdict, detail in report:
        print(f"{verdict:9} {shape:24} {method:6} {template} {status} {detail}")
    counts = {kind: sum(1 for row in report if row[4] == kind) for kind in ("conforms", "flaw", "fails")}
    print(f"{len(report)} answers: {counts['conforms']} conform, {counts['flaw']} conform but for named document flaws, "
          f"{counts['fails']} fail")
    return 1 if counts["fails"] else 0


if __name__ == "__main__":
    sys.exit(main())
