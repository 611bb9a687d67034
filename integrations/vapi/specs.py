"""Vapi's OpenAPI spec as a validator, with the spec's known defects (specs/vapi/README.md) worked around.

What we send to Vapi and what the sandbox answers must fit these schemas. Vapi also rejects any property a
schema does not define (NestJS whitelist), which `strict=True` reports in Vapi's own words.
"""

import json
import os
import re
from functools import cache
from pathlib import Path

from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

SPEC_URI = "urn:vapi:openapi"
# Set by Vapi on every stored object; sending one back gets "property id should not exist".
READ_ONLY_PROPERTIES = ("id", "orgId", "createdAt", "updatedAt", "latestVersion")
# Removed from the API (vapi-api.md section 2) but still seen in old examples; Vapi rejects them too.
LEGACY_ASSISTANT_PROPERTIES = (
    "serverUrl",
    "serverUrlSecret",
    "endCallFunctionEnabled",
    "dialKeypadFunctionEnabled",
    "forwardingPhoneNumber",
    "systemPrompt",
    "silenceTimeoutSeconds",
)
PHONE_NUMBER_UPDATE_SCHEMAS = {
    "byo-phone-number": "UpdateByoPhoneNumberDTO",
    "twilio": "UpdateTwilioPhoneNumberDTO",
    "vonage": "UpdateVonagePhoneNumberDTO",
    "vapi": "UpdateVapiPhoneNumberDTO",
    "telnyx": "UpdateTelnyxPhoneNumberDTO",
}
DISCRIMINATORS = ("provider", "type", "role")
JS_REGEX_LITERAL = re.compile(r"^/(?P<body>.*)/[a-z]*$", re.DOTALL)


def _fixed_pattern(pattern: str) -> str | None:
    """A JS literal like /^a$/u made a Python regex; None when Python's re cannot express it (\\p{L})."""
    literal = JS_REGEX_LITERAL.match(pattern)
    if literal:
        pattern = literal["body"].replace(r"\/", "/")
    try:
        re.compile(pattern)
    except re.error:
        return None
    return pattern


def _repair(node):
    """The README's defect fixes plus OpenAPI 3.0's `nullable`, applied to a copy of the spec."""
    if isinstance(node, list):
        return [_repair(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _repair(value) for key, value in node.items()}
    # Defect 1: overlapping branches (a preset enum next to any string) make strict oneOf fail.
    if "oneOf" in node:
        node["anyOf"] = node.pop("oneOf")
    # Defect 2: the enum belongs to the items, not to the array.
    if node.get("type") == "array":
        node.pop("enum", None)
    # Defect 9: an enum of strings typed as an object (BackoffPlan.type); its own example is a string.
    if node.get("type") == "object" and node.get("enum") and all(isinstance(v, str) for v in node["enum"]):
        node["type"] = "string"
    # Defect 3: patterns written as JavaScript regex literals.
    if isinstance(node.get("pattern"), str) and isinstance(node.get("type"), str):
        pattern = _fixed_pattern(node["pattern"])
        if pattern is None:
            del node["pattern"]
        else:
            node["pattern"] = pattern
    if node.get("nullable") is True and isinstance(node.get("type"), str):
        node["type"] = [node["type"], "null"]
    # Absolute refs let any sub-schema be validated on its own.
    if isinstance(node.get("$ref"), str) and node["$ref"].startswith("#"):
        node["$ref"] = SPEC_URI + node["$ref"]
    return node


def specs_path() -> Path:
    specs_dir = os.environ.get("VAPI_SPECS_DIR")
    root = Path(specs_dir) if specs_dir else Path(__file__).resolve().parent / "spec"
    return root / "openapi.json"


@cache
def _load(path: str) -> tuple[dict, Registry]:
    spec = _repair(json.loads(Path(path).read_text()))
    # Defect 4: real tool-calls traffic sends the arguments as a JSON object, the spec says string.
    spec["components"]["schemas"]["ToolCallFunction"]["properties"]["arguments"]["type"] = ["string", "object"]
    registry = Registry().with_resource(SPEC_URI, Resource.from_contents(spec, default_specification=DRAFT7))
    return spec, registry


def _spec() -> tuple[dict, Registry]:
    return _load(str(specs_path()))


def _resolve(node: dict) -> dict:
    while "$ref" in node:
        node = _spec()[1].resolver().lookup(node["$ref"]).contents
    return node


def _fits(instance, node: dict) -> bool:
    return Draft7Validator(node, registry=_spec()[1]).is_valid(instance)


@cache
def _validator(path: str, name: str) -> Draft7Validator:
    return Draft7Validator({"$ref": f"{SPEC_URI}#/components/schemas/{name}"}, registry=_load(path)[1])


def _branch_for(instance, branches: list[dict]) -> int | None:
    """The union member an object means, told apart the way Vapi does: by provider, type or role."""
    if not isinstance(instance, dict):
        return None
    for key in DISCRIMINATORS:
        if key not in instance:
            continue
        for index, branch in enumerate(branches):
            declared = _resolve(branch).get("properties", {}).get(key, {})
            if instance[key] in declared.get("enum", ()):
                return index
    return None


def _path(parts) -> str:
    return ".".join(str(part) for part in parts)


def _readable(error: ValidationError) -> list[str]:
    """A failed union explained by the errors of the member the object chose, not "not valid under any"."""
    if error.validator == "anyOf" and error.context:
        chosen = _branch_for(error.instance, error.validator_value)
        if chosen is not None:
            branch_errors = [sub for sub in error.context if sub.schema_path[0] == chosen]
            return [message for sub in branch_errors for message in _readable(sub)]
        error = best_match(error.context)
        if error.validator == "anyOf" and error.context:
            return _readable(error)
    return [f"{_path(error.absolute_path) or '(body)'}: {error.message}"]


def _unknown_properties(instance, node: dict, path: tuple) -> list[str]:
    """Properties no schema on the way defines, as Vapi words it: "model.property foo should not exist"."""
    node = _resolve(node)
    messages = []
    for member in node.get("allOf", ()):
        messages += _unknown_properties(instance, member, path)
    if "anyOf" in node:
        chosen = _branch_for(instance, node["anyOf"])
        if chosen is None:
            # No discriminator to go by: the first member the instance fits is the one Vapi would apply.
            fitting = [member for member in node["anyOf"] if _fits(instance, member)]
            chosen_node = fitting[0] if fitting else None
        else:
            chosen_node = node["anyOf"][chosen]
        if chosen_node is not None:
            messages += _unknown_properties(instance, chosen_node, path)
    if isinstance(instance, dict) and "properties" in node:
        declared = node["properties"]
        prefix = "".join(f"{part}." for part in path)
        messages += [f"{prefix}property {key} should not exist" for key in instance if key not in declared]
        for key, value in instance.items():
            if key in declared:
                messages += _unknown_properties(value, declared[key], (*path, key))
    if isinstance(instance, dict) and isinstance(node.get("additionalProperties"), dict):
        for key, value in instance.items():
            messages += _unknown_properties(value, node["additionalProperties"], (*path, key))
    if isinstance(instance, list) and isinstance(node.get("items"), dict):
        for index, item in enumerate(instance):
            messages += _unknown_properties(item, node["items"], (*path, index))
    return messages


def validation_errors(*, schema_name: str, instance, strict: bool = False) -> list[str]:
    """Why Vapi would refuse `instance` as a `schema_name`; empty when it fits.

    strict adds "property foo should not exist" for properties the schema does not define.
    """
    errors = []
    if strict:
        errors += _unknown_properties(instance, {"$ref": f"{SPEC_URI}#/components/schemas/{schema_name}"}, ())
    for error in _validator(str(specs_path()), schema_name).iter_errors(instance):
        errors += _readable(error)
    return list(dict.fromkeys(errors))


def read_only_properties_in(payload: dict) -> list[str]:
    """Read-only or legacy properties at the top of a request body; they must never be sent."""
    return [key for key in payload if key in READ_ONLY_PROPERTIES or key in LEGACY_ASSISTANT_PROPERTIES]


def phone_number_update_schema(*, provider: str) -> str:
    return PHONE_NUMBER_UPDATE_SCHEMAS[provider]
