"""The contract is no looser than the service: every answer the in-process suites saw
(Tests/GroupTests writes them to TEST_ANSWER_LEDGER, a few per route, status and error code)
validates against docs/openapi.yaml, strictly.

- Each answer is validated against its operation's schema for its status (the `default` response
  when the status has none of its own).
- Strictly: an object schema that lists properties admits no other property, so an answer field the
  contract does not declare fails. A free-form map must say so (`additionalProperties: {schema}`).
- An error's `code` must be one of the codes the operation declares for that status.

    python3 Tests/Contract/answers.py LEDGER      (scripts/dev test runs it after the in-process suites)
"""
import copy
import json
import os
import re
import sys

import yaml
from jsonschema import Draft202012Validator

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load_contract():
    with open(os.path.join(ROOT, "docs", "openapi.yaml")) as handle:
        return yaml.safe_load(handle)


def resolve(document, node, seen=()):
    """node with every local $ref replaced by what it names (a $ref's sibling keywords kept)."""
    if isinstance(node, dict):
        if "$ref" in node:
            reference = node["$ref"]
            assert reference.startswith("#/") and reference not in seen, reference
            target = document
            for part in reference[2:].split("/"):
                target = target[part]
            merged = dict(resolve(document, target, seen + (reference,)))
            for key, value in node.items():
                if key != "$ref":
                    merged[key] = resolve(document, value, seen)
            return merged
        return {key: resolve(document, value, seen) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(document, item, seen) for item in node]
    return node


def flatten(schema):
    """An allOf of object schemas as one object schema (properties and required joined; a later
    member's property narrows an earlier one's, as an enum of codes narrows Error's code)."""
    if isinstance(schema, list):
        return [flatten(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    schema = {key: flatten(value) for key, value in schema.items()}
    if "allOf" in schema:
        merged = {key: value for key, value in schema.items() if key != "allOf"}
        for member in schema["allOf"]:
            for key, value in member.items():
                if key == "properties":
                    properties = merged.setdefault("properties", {})
                    for name, property_schema in value.items():
                        properties[name] = {**properties.get(name, {}), **property_schema}
                elif key == "required":
                    merged["required"] = sorted(set(merged.get("required", [])) | set(value))
                else:
                    merged.setdefault(key, value)
        # The operation's own keywords (beside allOf) narrow the members'.
        for name, property_schema in schema.get("properties", {}).items():
            base = {}
            for member in schema["allOf"]:
                base.update(member.get("properties", {}).get(name, {}))
            merged["properties"][name] = {**base, **property_schema}
        return merged
    return schema


def strict(schema):
    """Objects that list their properties admit no others."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    schema = {key: strict(value) for key, value in schema.items()}
    if "properties" in schema and "additionalProperties" not in schema:
        schema["additionalProperties"] = False
    return schema


def operation_path(pattern):
    return re.sub(r":([A-Za-z]+)", r"{\1}", pattern)


def response_schema(document, method, pattern, status):
    operation = document["paths"][operation_path(pattern)][method.lower()]
    responses = operation["responses"]
    response = responses.get(str(status)) or responses.get("default")
    if response is None:
        return None, "the contract declares no %d answer and no default" % status
    response = resolve(document, response)
    content = response.get("content", {}).get("application/json")
    if content is None:
        return None, "the contract's %d answer has no JSON body" % status
    return strict(flatten(resolve(document, content["schema"]))), None


def problems(document, entry):
    method, pattern, status, body = entry["method"], entry["pattern"], entry["status"], entry["body"]
    path = operation_path(pattern)
    if path not in document["paths"] or method.lower() not in document["paths"][path]:
        return ["%s %s is not in the contract" % (method, path)]
    schema, missing = response_schema(document, method, pattern, status)
    if missing:
        return ["%s %s %d: %s" % (method, path, status, missing)]
    found = []
    for error in Draft202012Validator(copy.deepcopy(schema)).iter_errors(body):
        where = "/".join("*" if isinstance(part, int) else str(part) for part in error.absolute_path) or "(the answer)"
        found.append("%s %s %d at %s: %s" % (method, path, status, where, error.message[:300]))
    return found


def untyped(document):
    """Answer schemas that say `object` and nothing of what it holds: a generator makes them a bare
    dict, so every such field must list its properties (or type its map's values)."""
    found = []

    def walk(node, where):
        if isinstance(node, dict):
            kind = node.get("type")
            is_object = kind == "object" or (isinstance(kind, list) and "object" in kind)
            if is_object and not any(key in node for key in ("properties", "additionalProperties", "allOf", "oneOf",
                                                               "anyOf", "$ref")):
                found.append("untyped object at " + where)
            for key, value in node.items():
                walk(value, where + "/" + str(key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, where + "/" + str(index))

    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation.get("responses", {}).items():
                walk(response, "%s %s %s" % (method.upper(), path, status))
    for name, schema in document["components"]["schemas"].items():
        walk(schema, "components/schemas/" + name)
    return found


# The codes the platform's frontend handles: each must be in the contract, where it can be answered.
FRONTEND_CODES = {
    "INSUFFICIENT_SCOPE": ("/v1/projects/{projectId}/vercel/deploy", "post", "403"),
    "DEPLOYMENT_BLOCKED": ("/v1/projects/{projectId}/vercel/deploy", "post", "403"),
    "PROJECT_NOT_LINKED": ("/v1/projects/{projectId}/vercel/deploy", "post", "404"),
    "OAUTH_USER_MISMATCH": ("/v1/internal/vercel/oauth/confirm", "post", "403"),
    "CONFIRMATION_INVALID": ("/v1/internal/vercel/oauth/confirm", "post", "404"),
}


def declared_codes(document, path, method, status):
    schema, missing = response_schema(document, method, path, int(status))
    return set() if missing else set(schema.get("properties", {}).get("code", {}).get("enum", []))


def unchoosable(document):
    """Project routes that do not declare connectionId and teamId, which every one of them reads."""
    found = []
    for path, operations in document["paths"].items():
        if not path.startswith("/v1/projects/"):
            continue
        for method, operation in operations.items():
            operation = resolve(document, operation)
            if method in ("get", "delete"):
                names = {parameter.get("name") for parameter in operation.get("parameters", [])}
            else:
                body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
                names = set(body.get("schema", {}).get("properties", {}))
            for name in ("connectionId", "teamId"):
                if name not in names:
                    found.append("%s %s does not declare %s" % (method.upper(), path, name))
    for code, (path, method, status) in FRONTEND_CODES.items():
        if code not in declared_codes(document, path, method, status):
            found.append("%s %s does not declare %s at %s" % (method.upper(), path, code, status))
    return found


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    document = load_contract()
    entries = []
    with open(sys.argv[1]) as handle:
        for line in handle:
            if line.strip():
                entries.append(json.loads(line))
    found = untyped(document) + unchoosable(document) + sorted({problem for entry in entries for problem in problems(document, entry)})
    for problem in found:
        print(problem)
    if found:
        sys.exit("%d ways the service answered that docs/openapi.yaml does not declare (of %d answers)"
                 % (len(found), len(entries)))
    print("every one of %d answers seen in process is as docs/openapi.yaml declares it" % len(entries))


if __name__ == "__main__":
    main()
