"""The Vapi stand-in: an in-process httpx transport that answers like Vapi's REST API, refusals included.

State is kept in SandboxObject rows (provider "vapi"), so the web process and the workers see the same org.
It accepts only SANDBOX_API_KEY, and refuses unknown or read-only properties the way Vapi does.
"""

import hashlib
import io
import json
import math
import re
import struct
import uuid
import wave
from datetime import datetime

import httpx
from django.db import transaction
from django.utils import timezone

from integrations.sandbox.models import SandboxObject
from integrations.vapi import specs

PROVIDER = "vapi"
# The one private key the sandbox accepts; give it to an agency's Vapi settings in the demo.
SANDBOX_API_KEY = "sandbox-vapi-private-key-0000-0000-000000000000"
SANDBOX_ORG_ID = "5a4db0c5-0000-4000-8000-000000000001"
INVALID_KEY = "Invalid Key. Hot tip, you may be using the private key instead of the public key, or vice versa."
MAX_LIST_LIMIT = 1000
DEFAULT_LIST_LIMIT = 100


def sandbox_api_key() -> str:
    return SANDBOX_API_KEY


class VapiReply(Exception):
    """A Vapi answer other than success, raised from inside a handler."""

    def __init__(self, status_code: int, error: str, message: str | list[str]):
        super().__init__(message)
        self.status_code = status_code
        self.body = {"message": message, "error": error, "statusCode": status_code}


def _bad_request(messages: list[str]) -> VapiReply:
    return VapiReply(400, "Bad Request", messages)


def _not_found(message: str) -> VapiReply:
    return VapiReply(404, "Not Found", message)


def _now() -> str:
    return timezone.now().isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _objects(kind: str):
    return SandboxObject.objects.filter(provider=PROVIDER, kind=kind)


def _stored(kind: str, object_id: str, *, label: str) -> SandboxObject:
    stored = _objects(kind).select_for_update().filter(object_id=object_id).first()
    if stored is None:
        raise _not_found(f"Couldn't Get {label}. `id` Not Found.")
    return stored


def _create(kind: str, data: dict, *, parent_id: str = "") -> dict:
    now = _now()
    stored = {**data, "id": data.get("id") or str(uuid.uuid4()), "orgId": SANDBOX_ORG_ID}
    stored.setdefault("createdAt", now)
    stored.setdefault("updatedAt", now)
    SandboxObject.objects.create(provider=PROVIDER, kind=kind, object_id=stored["id"], parent_id=parent_id, data=stored)
    return stored


def sandbox_assistant(assistant_id: str) -> dict:
    """Exactly what the sandbox holds for an assistant, after every POST and PATCH it was sent."""
    return _objects("assistant").get(object_id=assistant_id).data


def sandbox_phone_number(phone_number_id: str) -> dict:
    return _objects("phone_number").get(object_id=phone_number_id).data


def sandbox_seed_phone_numbers(*, count: int = 2) -> list[dict]:
    """`count` free Vapi numbers with no assistant yet, on fictional 555-01xx lines. Idempotent."""
    numbers = []
    for index in range(count):
        number = f"+1312555{index + 100:04d}"
        phone_number_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"vapi-sandbox:{number}"))
        existing = _objects("phone_number").filter(object_id=phone_number_id).first()
        if existing is not None:
            numbers.append(existing.data)
            continue
        data = {
            "id": phone_number_id,
            "provider": "vapi",
            "number": number,
            "name": f"Sandbox line {index + 1}",
            "status": "active",
        }
        numbers.append(_create("phone_number", data))
    return numbers


def sandbox_call_record(*, call: dict) -> dict:
    """Stores a call (as the call simulator saw it) so GET /call answers it; an existing id is replaced."""
    existing = _objects("call").filter(object_id=call.get("id", "")).first()
    if existing is None:
        return _create("call", call, parent_id=call.get("assistantId", ""))
    kept = {key: existing.data[key] for key in ("id", "orgId", "createdAt")}
    existing.data = {**call, **kept, "updatedAt": _now()}
    existing.save(update_fields=["data"])
    return existing.data


RECORDING_RATE = 8000  # telephone quality, like a real call recording
RECORDING_SECONDS = 4


def sandbox_recording_wav(call_id: str) -> bytes:
    """A short, quiet, playable WAV for a call: a few soft tones, the same ones for the same call."""
    notes = hashlib.sha256(call_id.encode()).digest()[:8]
    samples = bytearray()
    per_note = RECORDING_RATE * RECORDING_SECONDS // len(notes)
    for index, note in enumerate(notes):
        frequency = 220 * 2 ** ((note % 24) / 12)  # two octaves up from A3
        for n in range(per_note):
            fade = min(n, per_note - n, 400) / 400  # no clicks between notes
            value = 0.12 * fade * math.sin(2 * math.pi * frequency * (index * per_note + n) / RECORDING_RATE)
            samples += struct.pack("<h", int(value * 32767))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as recording:
        recording.setnchannels(1)
        recording.setsampwidth(2)
        recording.setframerate(RECORDING_RATE)
        recording.writeframes(bytes(samples))
    return buffer.getvalue()


def _rejections(*, schema_name: str, body: dict) -> list[str]:
    # class-validator's @IsOptional lets null through: that is how Vapi unsets a property.
    present = {key: value for key, value in body.items() if value is not None}
    return specs.validation_errors(schema_name=schema_name, instance=present, strict=True)


def _patched(stored: dict, body: dict) -> dict:
    """Each top-level property sent replaces the stored one whole, nested objects included; null unsets it."""
    patched = {**stored, **body, "updatedAt": _now()}
    return {key: value for key, value in patched.items() if value is not None}


def _limit(request: httpx.Request) -> int:
    raw = request.url.params.get("limit", str(DEFAULT_LIST_LIMIT))
    try:
        limit = int(float(raw))
    except ValueError as exc:
        raise _bad_request(["limit must be a number conforming to the specified constraints"]) from exc
    if limit < 0:
        raise _bad_request(["limit must not be less than 0"])
    if limit > MAX_LIST_LIMIT:
        raise _bad_request([f"limit must not be greater than {MAX_LIST_LIMIT}"])
    return limit


def _created_at_filters(request: httpx.Request, data: dict) -> bool:
    created = datetime.fromisoformat(data["createdAt"].replace("Z", "+00:00"))
    for key, keep in (("createdAtGt", created.__gt__), ("createdAtLt", created.__lt__)):
        if key in request.url.params:
            try:
                bound = datetime.fromisoformat(request.url.params[key].replace("Z", "+00:00"))
            except ValueError as exc:
                raise _bad_request([f"{key} must be a Date instance"]) from exc
            if not keep(bound):
                return False
    return True


def _listed(kind: str, request: httpx.Request, *, match: dict[str, str] | None = None) -> list[dict]:
    limit = _limit(request)
    wanted = {key: value for key, value in (match or {}).items() if value is not None}
    rows = [
        stored.data
        for stored in _objects(kind).order_by("-created_at", "-id")
        if all(stored.data.get(key) == value for key, value in wanted.items())
        and _created_at_filters(request, stored.data)
    ]
    return rows[:limit]


def assistant_create(request: httpx.Request, body: dict) -> tuple[int, object]:
    errors = _rejections(schema_name="CreateAssistantDTO", body=body)
    if errors:
        raise _bad_request(errors)
    return 201, _create("assistant", {key: value for key, value in body.items() if value is not None})


def assistant_list(request: httpx.Request, body: dict) -> tuple[int, object]:
    return 200, _listed("assistant", request)


def assistant_get(request: httpx.Request, body: dict, assistant_id: str) -> tuple[int, object]:
    return 200, _stored("assistant", assistant_id, label="Assistant").data


def assistant_update(request: httpx.Request, body: dict, assistant_id: str) -> tuple[int, object]:
    stored = _stored("assistant", assistant_id, label="Assistant")
    errors = _rejections(schema_name="UpdateAssistantDTO", body=body)
    if errors:
        raise _bad_request(errors)
    stored.data = _patched(stored.data, body)
    stored.save(update_fields=["data"])
    return 200, stored.data


def assistant_delete(request: httpx.Request, body: dict, assistant_id: str) -> tuple[int, object]:
    stored = _stored("assistant", assistant_id, label="Assistant")
    stored.delete()
    return 200, stored.data


def phone_number_list(request: httpx.Request, body: dict) -> tuple[int, object]:
    return 200, _listed("phone_number", request)


def phone_number_get(request: httpx.Request, body: dict, phone_number_id: str) -> tuple[int, object]:
    return 200, _stored("phone_number", phone_number_id, label="Phone Number").data


def phone_number_update(request: httpx.Request, body: dict, phone_number_id: str) -> tuple[int, object]:
    stored = _stored("phone_number", phone_number_id, label="Phone Number")
    schema_name = specs.phone_number_update_schema(provider=stored.data["provider"])
    errors = _rejections(schema_name=schema_name, body=body)
    if body.get("assistantId") and not _objects("assistant").filter(object_id=body["assistantId"]).exists():
        errors.append("Couldn't Find Assistant. `assistantId` Not Found.")
    if errors:
        raise _bad_request(errors)
    stored.data = _patched(stored.data, body)
    stored.save(update_fields=["data"])
    return 200, stored.data


def call_list(request: httpx.Request, body: dict) -> tuple[int, object]:
    params = request.url.params
    match = {key: params.get(key) for key in ("id", "assistantId", "phoneNumberId")}
    return 200, _listed("call", request, match=match)


def call_get(request: httpx.Request, body: dict, call_id: str) -> tuple[int, object]:
    return 200, _stored("call", call_id, label="Call").data


ROUTES = (
    ("POST", r"/assistant", assistant_create),
    ("GET", r"/assistant", assistant_list),
    ("GET", r"/assistant/([^/]+)", assistant_get),
    ("PATCH", r"/assistant/([^/]+)", assistant_update),
    ("DELETE", r"/assistant/([^/]+)", assistant_delete),
    ("GET", r"/phone-number", phone_number_list),
    ("GET", r"/phone-number/([^/]+)", phone_number_get),
    ("PATCH", r"/phone-number/([^/]+)", phone_number_update),
    ("GET", r"/call", call_list),
    ("GET", r"/call/([^/]+)", call_get),
)


def _parse_body(request: httpx.Request) -> dict:
    if not request.content:
        return {}
    try:
        body = json.loads(request.content)
    except ValueError as exc:
        raise _bad_request(["Request body is not valid JSON"]) from exc
    if not isinstance(body, dict):
        raise _bad_request(["Request body must be a JSON object"])
    return body


def _answer(request: httpx.Request) -> tuple[int, object]:
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if scheme != "Bearer" or presented != SANDBOX_API_KEY:
        raise VapiReply(401, "Unauthorized", INVALID_KEY)
    for method, pattern, handler in ROUTES:
        match = re.fullmatch(pattern, request.url.path)
        if method == request.method and match:
            body = _parse_body(request)
            with transaction.atomic():
                return handler(request, body, *match.groups())
    raise _not_found(f"Cannot {request.method} {request.url.path}")


class VapiSandboxTransport(httpx.BaseTransport):
    """Plugged into the Vapi client when settings.SANDBOX is on: no sockets, Vapi's shapes and refusals."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        try:
            status_code, body = _answer(request)
        except VapiReply as reply:
            status_code, body = reply.status_code, reply.body
        return httpx.Response(status_code, json=body, request=request)
