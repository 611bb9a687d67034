"""GHL's official v2 OpenAPI specs as a validator: what we send and what the sandbox answers must fit them."""

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import parse_qs

import httpx
from django.conf import settings
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_FILES = (
    "apps/oauth.json",
    "apps/calendars.json",
    "apps/contacts.json",
    "apps/locations.json",
    "apps/conversations.json",
)
COMMON_FILE = "common/common-schemas.json"
HTTP_METHODS = ("get", "post", "put", "patch", "delete")
COMMON_ERRORS = {400: "BadRequestDTO", 401: "UnauthorizedDTO", 422: "UnprocessableDTO"}
# Spec defects corrected before validating (spec/README.md): SendMessageBodyDto lists the message's own
# delivery `status` (an answer field) and an object-typed `subType` as required; GHL sends SMS without them.
NOT_REALLY_REQUIRED = {("apps/conversations.json", "SendMessageBodyDto"): {"status", "subType"}}


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    spec_uri: str
    definition: dict

    @property
    def pointer(self) -> str:
        escaped = self.template.replace("~", "~0").replace("/", "~1")
        return f"{self.spec_uri}#/paths/{escaped}/{self.method}"

    def parameters(self, location: str) -> list[dict]:
        return [p for p in self.definition.get("parameters", []) if p.get("in") == location]

    @property
    def version(self) -> list[str]:
        """The Version header values the spec allows; empty when the operation takes none."""
        for parameter in self.parameters("header"):
            if parameter["name"] == "Version":
                return parameter["schema"].get("enum", [])
        return []

    @property
    def scopes(self) -> list[str]:
        requirements = self.definition.get("security", [])
        return [scope for requirement in requirements for scopes in requirement.values() for scope in scopes]

    @property
    def security_schemes(self) -> list[str]:
        return [name for requirement in self.definition.get("security", []) for name in requirement]


def _openapi_to_json_schema(node):
    """OpenAPI 3.0 quirks jsonschema does not know about, fixed in place on a copy."""
    if isinstance(node, list):
        return [_openapi_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _openapi_to_json_schema(value) for key, value in node.items()}
    if node.get("nullable") is True and isinstance(node.get("type"), str):
        node["type"] = [node["type"], "null"]
    # GHL's NestJS specs type Date fields as "object" while the API sends ISO strings.
    if node.get("type") == "object" and isinstance(node.get("example"), str):
        del node["type"]
    return node


@cache
def _load(specs_dir: str) -> tuple[Registry, tuple[Operation, ...]]:
    root = Path(specs_dir)
    resources, operations = [], []
    for name in (*SPEC_FILES, COMMON_FILE):
        uri = (root / name).resolve().as_uri()
        contents = _openapi_to_json_schema(json.loads((root / name).read_text()))
        for (file_name, schema_name), optional in NOT_REALLY_REQUIRED.items():
            if file_name == name:
                schema = contents["components"]["schemas"][schema_name]
                schema["required"] = [field for field in schema["required"] if field not in optional]
        resources.append((uri, Resource.from_contents(contents, default_specification=DRAFT202012)))
        for template, path_item in contents.get("paths", {}).items():
            for method in HTTP_METHODS:
                if method in path_item:
                    operations.append(Operation(method, template, uri, path_item[method]))
    # Literal paths first, so /calendars/events wins over /calendars/{calendarId}.
    operations.sort(key=lambda op: op.template.count("{"))
    return Registry().with_resources(resources), tuple(operations)


def _spec() -> tuple[Registry, tuple[Operation, ...]]:
    return _load(str(settings.GHL_SPECS_DIR))


def operation_for(*, method: str, path: str) -> Operation | None:
    for operation in _spec()[1]:
        pattern = re.sub(r"\{[^}]+\}", "[^/]+", re.escape(operation.template).replace(r"\{", "{").replace(r"\}", "}"))
        if operation.method == method.lower() and re.fullmatch(pattern, path):
            return operation
    return None


def _schema_errors(*, schema_uri: str, document) -> list[str]:
    registry = _spec()[0]
    validator = Draft202012Validator({"$ref": schema_uri}, registry=registry)
    return sorted(
        f"{'.'.join(str(p) for p in error.absolute_path) or '(body)'}: {error.message}"
        for error in validator.iter_errors(document)
    )


def _body_schema_uri(operation: Operation) -> tuple[str, str] | None:
    content = operation.definition.get("requestBody", {}).get("content", {})
    for content_type in content:
        return content_type, f"{operation.pointer}/requestBody/content/{content_type.replace('/', '~1')}/schema"
    return None


def body_properties(operation: Operation) -> set[str] | None:
    """The top-level fields the request body may carry, or None when the spec does not say."""
    body = _body_schema_uri(operation)
    if body is None:
        return None
    schema = _spec()[0].resolver().lookup(body[1]).contents
    while "$ref" in schema:
        schema = _spec()[0].resolver(base_uri=operation.spec_uri).lookup(schema["$ref"]).contents
    return set(schema["properties"]) if "properties" in schema else None


def request_body_errors(*, operation: Operation, body) -> list[str]:
    """GHL's own wording for fields it does not know (class-validator whitelist), then schema errors."""
    allowed = body_properties(operation)
    unknown = sorted(set(body) - allowed) if allowed is not None and isinstance(body, dict) else []
    errors = [f"property {name} should not exist" for name in unknown]
    body_schema = _body_schema_uri(operation)
    if body_schema is not None:
        errors += _schema_errors(schema_uri=body_schema[1], document=body)
    return errors


def request_errors(request: httpx.Request) -> list[str]:
    """Everything about an outgoing request that the spec would reject."""
    operation = operation_for(method=request.method, path=request.url.path)
    if operation is None:
        return [f"{request.method} {request.url.path} is not in GHL's v2 spec"]
    errors = []
    if operation.version and request.headers.get("Version") not in operation.version:
        errors.append(f"Version header {request.headers.get('Version')!r} is not one of {operation.version}")
    for parameter in operation.parameters("query"):
        if parameter.get("required") and parameter["name"] not in request.url.params:
            errors.append(f"query parameter {parameter['name']} is required")
    if request.content:
        content_type = request.headers.get("Content-Type", "")
        if content_type.startswith("application/x-www-form-urlencoded"):
            body = {key: values[0] for key, values in parse_qs(request.content.decode()).items()}
        else:
            body = json.loads(request.content)
        errors += request_body_errors(operation=operation, body=body)
    return errors


def response_errors(*, request: httpx.Request, status_code: int, body) -> list[str]:
    operation = operation_for(method=request.method, path=request.url.path)
    if operation is None:
        return [f"{request.method} {request.url.path} is not in GHL's v2 spec"]
    responses = operation.definition.get("responses", {})
    if str(status_code) in responses:
        if "content" not in responses[str(status_code)]:
            return []
        schema_uri = f"{operation.pointer}/responses/{status_code}/content/application~1json/schema"
    elif status_code in COMMON_ERRORS:
        # GHL answers these on every operation, documented there or not, in the shared error shapes.
        common_uri = (Path(settings.GHL_SPECS_DIR) / COMMON_FILE).resolve().as_uri()
        schema_uri = f"{common_uri}#/components/schemas/{COMMON_ERRORS[status_code]}"
    else:
        return [f"{request.method} {operation.template} does not document a {status_code} answer"]
    # Every GHL response carries a traceId that most schemas leave out.
    document = {k: v for k, v in body.items() if k != "traceId"} if isinstance(body, dict) else body
    return _schema_errors(schema_uri=schema_uri, document=document)


@cache
def _webhook_event_schema(specs_dir: str, event_type: str) -> dict:
    text = (Path(specs_dir) / "docs" / "webhook-events" / f"{event_type}.md").read_text()
    match = re.search(r"```json json_schema\n(.*?)```", text, re.DOTALL)
    return json.loads(match.group(1))


def webhook_event_errors(*, event_type: str, payload: dict) -> list[str]:
    """What in a webhook event the sandbox sends does not fit GHL's documented schema of that event, which
    lists only the event's own fields (webhookId and timestamp come with every event; WebhookAuthentication.md)."""
    schema = _webhook_event_schema(str(settings.GHL_SPECS_DIR), event_type)
    document = {k: v for k, v in payload.items() if k not in ("webhookId", "timestamp")}
    errors = [f"{name} is not in the {event_type} schema" for name in sorted(set(document) - set(schema["properties"]))]
    nested = schema["properties"].get("appointment", {}).get("properties")
    if nested is not None and isinstance(document.get("appointment"), dict):
        extra = sorted(set(document["appointment"]) - set(nested))
        errors += [f"appointment.{name} is not in the {event_type} schema" for name in extra]
    return errors + [
        f"{'.'.join(str(p) for p in error.absolute_path) or '(body)'}: {error.message}"
        for error in Draft202012Validator(schema).iter_errors(document)
    ]


def appointment_statuses() -> list[str]:
    """The appointmentStatus values GHL accepts when an appointment is edited (AppointmentEditSchema)."""
    calendars = json.loads((Path(settings.GHL_SPECS_DIR) / "apps" / "calendars.json").read_text())
    return calendars["components"]["schemas"]["AppointmentEditSchema"]["properties"]["appointmentStatus"]["enum"]
