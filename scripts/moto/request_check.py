"""Checks every request the AWS client sends to moto against AWS's own service models.

botocore ships the models the AWS SDKs are generated from (`botocore/data/<service>/<version>/
service-2.json`): every operation's input shape, with its members, their types, enums, lengths,
ranges and which members are required. moto accepts much that AWS refuses, so a request that
moto answers may still fail on AWS. Installed in moto's WSGI app (`install`), this module reads
each request whose User-Agent starts with `ecs-deploy/` (the client under test; moto's own seeding
goes through boto3 and is not checked), finds its service (from the SigV4 credential scope) and
operation (X-Amz-Target for the JSON protocols, Action for the Query ones), and checks its body
against the operation's input shape:

- every member is one the shape has (no unknown or misspelt member), with the right type;
- required members are present; strings are in their enum and within min/max length; numbers
  within min/max; lists within min/max items;
- Query protocol: lists as `Name.member.N` (N from 1, no gaps), maps as `Name.entry.N.key/value`;
- and what the models do not encode but AWS enforces (`LIMITS`): ECS `clientToken` at most 36
  characters; an ELBv2 `authenticate-oidc` action carries `ClientSecret` or
  `UseExistingClientSecret=true`.

Each problem is appended to the problems file as one JSON line {"operation", "problem"}.
"""

import json
import re
import threading
from urllib.parse import parse_qsl

import botocore.session

UNSIGNED_STS = ("AssumeRoleWithWebIdentity", "AssumeRoleWithSAML")
SIGNING_NAMES = {"ecs": "ecs", "elasticloadbalancing": "elbv2", "events": "events", "iam": "iam", "sts": "sts",
                 "monitoring": "cloudwatch", "sns": "sns"}

_models = {}
_models_lock = threading.Lock()


def model(service):
    with _models_lock:
        if service not in _models:
            _models[service] = botocore.session.get_session().get_service_model(service)
        return _models[service]


def _bounds(shape, value, length, path, problems):
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and length < low:
        problems.append(f"{path}: {value!r} is shorter than {low}" if isinstance(value, str) else f"{path}: {length} below the minimum {low}")
    if high is not None and length > high:
        problems.append(f"{path}: {value!r} is longer than {high}" if isinstance(value, str) else f"{path}: {length} above the maximum {high}")


def _scalar(shape, value, path, problems):
    """A decoded scalar (JSON) checked against a scalar shape."""
    kind = shape.type_name
    if kind == "string":
        if not isinstance(value, str):
            return problems.append(f"{path}: expected a string, got {type(value).__name__}")
        if shape.enum and value not in shape.enum:
            return problems.append(f"{path}: {value!r} is not one of {shape.enum}")
        _bounds(shape, value, len(value), path, problems)
    elif kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            return problems.append(f"{path}: expected an integer, got {value!r}")
        _bounds(shape, value, value, path, problems)
    elif kind in ("double", "float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return problems.append(f"{path}: expected a number, got {value!r}")
    elif kind == "boolean":
        if not isinstance(value, bool):
            return problems.append(f"{path}: expected true or false, got {value!r}")
    elif kind == "timestamp":
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            return problems.append(f"{path}: expected a timestamp, got {value!r}")
    elif kind == "blob":
        if not isinstance(value, str):
            return problems.append(f"{path}: expected base64 text, got {value!r}")
    else:
        problems.append(f"{path}: unexpected shape type {kind}")


def check_json(shape, value, path, problems):
    """A JSON-protocol value against its shape."""
    kind = shape.type_name
    if kind == "structure" and shape.metadata.get("document"):
        return  # a JSON document (e.g. ECS's hookDetails): any value
    if kind == "structure":
        if not isinstance(value, dict):
            return problems.append(f"{path}: expected an object, got {type(value).__name__}")
        for name in value:
            if name not in shape.members:
                problems.append(f"{path}.{name}: no such member of {shape.name}")
        for name in shape.required_members:
            if name not in value:
                problems.append(f"{path}.{name}: required member missing")
        for name, member in shape.members.items():
            if name in value and value[name] is not None:
                check_json(member, value[name], f"{path}.{name}", problems)
    elif kind == "list":
        if not isinstance(value, list):
            return problems.append(f"{path}: expected a list, got {type(value).__name__}")
        _bounds(shape, value, len(value), path, problems)
        for i, item in enumerate(value):
            check_json(shape.member, item, f"{path}[{i}]", problems)
    elif kind == "map":
        if not isinstance(value, dict):
            return problems.append(f"{path}: expected a map, got {type(value).__name__}")
        for k, v in value.items():
            check_json(shape.key, k, f"{path} key", problems)
            check_json(shape.value, v, f"{path}[{k}]", problems)
    else:
        _scalar(shape, value, path, problems)


def _query_scalar(shape, text, path, problems):
    """A Query-protocol value (always text) against a scalar shape."""
    kind = shape.type_name
    if kind in ("integer", "long"):
        if not re.fullmatch(r"-?[0-9]+", text):
            return problems.append(f"{path}: expected an integer, got {text!r}")
        return _scalar(shape, int(text), path, problems)
    if kind in ("double", "float"):
        try:
            float(text)
        except ValueError:
            problems.append(f"{path}: expected a number, got {text!r}")
        return
    if kind == "boolean":
        if text not in ("true", "false"):
            problems.append(f"{path}: expected true or false, got {text!r}")
        return
    return _scalar(shape, text, path, problems)


def check_query(shape, params, prefix, used, problems):
    """Query-protocol parameters under `prefix` against the shape; marks the keys it reads."""
    kind = shape.type_name
    if kind == "structure":
        for name, member in shape.members.items():
            key = member.serialization.get("name", name)
            sub = f"{prefix}.{key}" if prefix else key
            present = sub in params or any(k.startswith(sub + ".") for k in params)
            if not present:
                if name in shape.required_members:
                    problems.append(f"{sub}: required member missing")
                continue
            check_query(member, params, sub, used, problems)
    elif kind == "list":
        if prefix in params:  # an empty list is sent as `Name=`
            used.add(prefix)
            if params[prefix] != "":
                problems.append(f"{prefix}: a list sent as a single value {params[prefix]!r}")
            count = 0
        else:
            item = "" if shape.serialization.get("flattened") else "." + shape.member.serialization.get("name", "member")
            pattern = re.compile(re.escape(prefix + item) + r"\.([0-9]+)(?:\.|$)")
            indices = sorted({int(m.group(1)) for k in params if (m := pattern.match(k))})
            if indices != list(range(1, len(indices) + 1)):
                problems.append(f"{prefix}: list indices {indices} do not run 1..N")
            for i in indices:
                check_query(shape.member, params, f"{prefix}{item}.{i}", used, problems)
            count = len(indices)
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if (low is not None and count < low) or (high is not None and count > high):
            problems.append(f"{prefix}: {count} items, outside {low}..{high}")
    elif kind == "map":
        pattern = re.compile(re.escape(prefix) + r"\.entry\.([0-9]+)\.")
        for i in sorted({int(m.group(1)) for k in params if (m := pattern.match(k))}):
            check_query(shape.key, params, f"{prefix}.entry.{i}.key", used, problems)
            check_query(shape.value, params, f"{prefix}.entry.{i}.value", used, problems)
    else:
        if prefix not in params:
            return problems.append(f"{prefix}: expected a value, got nested parameters")
        used.add(prefix)
        _query_scalar(shape, params[prefix], prefix, problems)


def _oidc_problems(actions, path):
    problems = []
    for i, action in enumerate(actions or []):
        if (action or {}).get("Type") == "authenticate-oidc":
            oidc = action.get("AuthenticateOidcConfig") or {}
            if not oidc.get("ClientSecret") and str(oidc.get("UseExistingClientSecret")).lower() != "true":
                problems.append(f"{path}[{i}].AuthenticateOidcConfig: neither ClientSecret nor UseExistingClientSecret=true "
                                "(ModifyListener/ModifyRule refuse an authenticate-oidc action without one)")
    return problems


def _query_actions(params, name):
    """Actions.member.N.* back into a list of dicts (enough for the OIDC limit)."""
    actions = {}
    pattern = re.compile(re.escape(name) + r"\.member\.([0-9]+)\.(.*)")
    for key, value in params.items():
        m = pattern.fullmatch(key)
        if m:
            node = actions.setdefault(int(m.group(1)), {})
            parts = m.group(2).split(".")
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            node[parts[-1]] = value
    return [actions[i] for i in sorted(actions)]


def limits(service, operation, body):
    """What AWS enforces beyond the models."""
    problems = []
    if service == "ecs" and isinstance(body.get("clientToken"), str) and len(body["clientToken"]) > 36:
        problems.append(f"clientToken: {len(body['clientToken'])} characters; ECS accepts at most 36")
    if service == "elbv2" and operation in ("ModifyListener", "CreateListener"):
        problems += _oidc_problems(_query_actions(body, "DefaultActions"), "DefaultActions")
    if service == "elbv2" and operation in ("ModifyRule", "CreateRule"):
        problems += _oidc_problems(_query_actions(body, "Actions"), "Actions")
    return problems


def check(headers, body):
    """(operation label, problems) for one request; None when it is not the client's."""
    if not (headers.get("user-agent") or "").startswith("ecs-deploy/"):
        return None
    text = body.decode("utf-8", "replace")
    scope = re.search(r"Credential=[^/]+/[0-9]{8}/[^/]+/([^/]+)/aws4_request", headers.get("authorization") or "")
    if scope:
        signing = scope.group(1)
    elif dict(parse_qsl(text)).get("Action") in UNSIGNED_STS:
        signing = "sts"  # the calls STS takes unsigned (the token is the credential)
    else:
        return ("?", ["the request is not signed with SigV4"])
    service = SIGNING_NAMES.get(signing)
    if service is None:
        return (signing, [f"unknown signing name {signing}"])
    service_model = model(service)
    problems = []
    if service_model.protocol == "json":
        target = headers.get("x-amz-target") or ""
        operation = target.rsplit(".", 1)[-1]
        prefix = service_model.metadata.get("targetPrefix")
        if not target.startswith(f"{prefix}."):
            return (f"{service}:{operation}", [f"X-Amz-Target {target!r} does not start with {prefix}."])
        try:
            params = json.loads(text) if text.strip() else {}
        except ValueError as error:
            return (f"{service}:{operation}", [f"the body is not JSON: {error}"])
        if operation not in service_model.operation_names:
            return (f"{service}:{operation}", [f"{service} has no operation {operation}"])
        shape = service_model.operation_model(operation).input_shape
        if shape is not None:
            check_json(shape, params, "", problems)
        problems += limits(service, operation, params if isinstance(params, dict) else {})
    else:
        params = dict(parse_qsl(text, keep_blank_values=True))
        operation = params.get("Action", "")
        if operation not in service_model.operation_names:
            return (f"{service}:{operation}", [f"{service} has no operation {operation!r}"])
        version = service_model.metadata.get("apiVersion")
        if params.get("Version") != version:
            problems.append(f"Version {params.get('Version')!r}, expected {version}")
        used = {"Action", "Version"}
        shape = service_model.operation_model(operation).input_shape
        if shape is not None:
            check_query(shape, params, "", used, problems)
        for key in sorted(set(params) - used):
            problems.append(f"{key}: no such member")
        problems += limits(service, operation, params)
    return (f"{service}:{operation}", [p.lstrip(".") for p in problems])


def install(problems_path):
    """Wraps moto's WSGI app so that every request is checked before moto answers it."""
    from io import BytesIO

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    original = DomainDispatcherApplication.__call__
    lock = threading.Lock()

    def call(self, environ, start_response):
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        environ["wsgi.input"] = BytesIO(body)
        if len(body) < length:
            # The client went away mid-request (the crash tests kill the server at random
            # points): what arrived is a fragment, not a request the client made.
            return original(self, environ, start_response)
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        try:
            found = check(headers, body)
        except Exception as error:  # a bug here must show, not pass silently
            found = ("?", [f"request_check failed: {error!r}"])
        if found and found[1]:
            with lock, open(problems_path, "a") as f:
                for problem in found[1]:
                    f.write(json.dumps({"operation": found[0], "problem": problem}) + "\n")
        return original(self, environ, start_response)

    DomainDispatcherApplication.__call__ = call


def check_answer(service, operation, answer):
    """Problems of an answer (decoded JSON) against the operation's output shape: what a
    recorded AWS answer, or the local endpoint's, must hold to be one AWS could give."""
    shape = model(service).operation_model(operation).output_shape
    problems = []
    if shape is not None:
        check_json(shape, answer, "", problems)
    return problems


if __name__ == "__main__":
    # python3 request_check.py answer SERVICE OPERATION FILE: one problem per line, exit 1 if any.
    import sys

    if len(sys.argv) != 5 or sys.argv[1] != "answer":
        sys.exit("usage: request_check.py answer SERVICE OPERATION FILE")
    with open(sys.argv[4]) as f:
        found = check_answer(sys.argv[2], sys.argv[3], json.load(f))
    for problem in found:
        print(f"{sys.argv[2]}:{sys.argv[3]}: {problem}")
    sys.exit(1 if found else 0)
