"""The GHL stand-in: an in-process httpx transport that answers like GHL's v2 API, traps included."""

import json
import re
import secrets
import time
from datetime import datetime
from urllib.parse import parse_qs

import httpx
from django.conf import settings
from django.utils import timezone

from integrations.ghl import specs

from . import calendars, contacts, conversations, custom_fields, limits, oauth, replies, store
from .replies import GhlReplyError, SandboxCall

ROUTES = (
    ("POST", r"/oauth/token", oauth.oauth_token),
    ("POST", r"/oauth/locationToken", oauth.oauth_location_token),
    ("GET", r"/oauth/installedLocations", oauth.oauth_installed_locations),
    ("GET", r"/locations/([^/]+)", oauth.location_get),
    ("GET", r"/locations/([^/]+)/customFields", custom_fields.custom_fields_list),
    ("GET", r"/calendars/", calendars.calendars_list),
    ("GET", r"/calendars/([^/]+)/free-slots", calendars.free_slots),
    ("POST", r"/calendars/events/appointments", calendars.appointment_create),
    ("PUT", r"/calendars/events/appointments/([^/]+)", calendars.appointment_update),
    ("GET", r"/calendars/events/appointments/([^/]+)", calendars.appointment_get),
    ("POST", r"/contacts/upsert", contacts.contact_upsert),
    ("GET", r"/contacts/search/duplicate", contacts.contact_find_duplicate),
    ("GET", r"/contacts/([^/]+)/appointments", contacts.contact_appointments),
    ("GET", r"/contacts/([^/]+)/notes", contacts.contact_notes),
    ("POST", r"/contacts/([^/]+)/notes", contacts.contact_note_create),
    ("POST", r"/contacts/([^/]+)/tags", contacts.contact_tags_add),
    ("GET", r"/contacts/([^/]+)", contacts.contact_get),
    ("PUT", r"/contacts/([^/]+)", contacts.contact_update),
    ("POST", r"/conversations/messages", conversations.message_send),
    ("POST", r"/conversations/messages/inbound", conversations.message_inbound),
    ("POST", r"/conversations/messages/outbound", conversations.message_outbound),
    ("GET", r"/conversations/search", conversations.conversation_search),
    ("POST", r"/conversations/", conversations.conversation_create),
    ("GET", r"/conversations/([^/]+)/messages", conversations.conversation_messages),
)


def _authenticate(request: httpx.Request, operation: specs.Operation) -> dict:
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    token = store.get("access_token", presented) if scheme == "Bearer" and presented else None
    if token is None or datetime.fromisoformat(token.data["expires_at"]) < timezone.now():
        raise replies.unauthorized("Invalid JWT")
    schemes = operation.security_schemes
    wants_company = all(scheme.startswith("Agency") for scheme in schemes)
    allows_company = any(scheme.startswith("Agency") for scheme in schemes)
    is_company = token.data["user_type"] == "Company"
    has_scope = not operation.scopes or set(operation.scopes) & set(token.data["scopes"])
    if not has_scope or (is_company and not allows_company) or (wants_company and not is_company):
        raise replies.unauthorized("The token is not authorized for this scope.")
    return token.data


def _parse_body(request: httpx.Request) -> dict:
    if not request.content:
        return {}
    if request.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
        return {key: values[0] for key, values in parse_qs(request.content.decode()).items()}
    try:
        return json.loads(request.content)
    except ValueError as exc:
        raise replies.bad_request("Invalid JSON body") from exc


def _answer(request: httpx.Request) -> tuple[int, dict, dict[str, str]]:
    """The status, body and rate-limit headers (settings.GHL_SANDBOX_RATE_LIMIT) of GHL's answer."""
    routes = (
        (handler, re.fullmatch(pattern, request.url.path))
        for method, pattern, handler in ROUTES
        if method == request.method
    )
    handler, match = next(((handler, match) for handler, match in routes if match), (None, None))
    if handler is None:
        raise replies.not_found(f"Cannot {request.method} {request.url.path}")
    operation = specs.operation_for(method=request.method, path=request.url.path)
    if operation.version and request.headers.get("Version") not in operation.version:
        raise replies.unauthorized("Version header was not found")
    token = _authenticate(request, operation) if operation.security_schemes else None
    headers = limits.rate_limit_headers(token) if token is not None and settings.GHL_SANDBOX_RATE_LIMIT else {}
    try:
        status_code, body = _handled(request, operation, handler, match, token)
    except GhlReplyError as reply:
        reply.headers = reply.headers or headers
        raise
    return status_code, body, headers


def _handled(request: httpx.Request, operation, handler, match, token) -> tuple[int, dict]:
    body = _parse_body(request)
    errors = specs.request_body_errors(operation=operation, body=body) if "requestBody" in operation.definition else []
    required = [p["name"] for p in operation.parameters("query") if p.get("required")]
    errors += [f"{name} should not be empty" for name in required if name not in request.url.params]
    if errors:
        raise GhlReplyError(422, {"statusCode": 422, "message": errors, "error": "Unprocessable Entity"})
    return handler(SandboxCall(request=request, operation=operation, args=match.groups(), body=body, token=token))


class GhlSandboxTransport(httpx.BaseTransport):
    """Plugged into the GHL client when settings.SANDBOX is on: no sockets, same shapes and traps as GHL; each answer
    after settings.GHL_SANDBOX_LATENCY_MS, as GHL's come after a network round trip, and GHL's rate limits counted
    with settings.GHL_SANDBOX_RATE_LIMIT (limits.py)."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if settings.GHL_SANDBOX_LATENCY_MS:
            time.sleep(settings.GHL_SANDBOX_LATENCY_MS / 1000)
        request.read()
        try:
            status_code, body, headers = _answer(request)
        except GhlReplyError as reply:
            status_code, body, headers = reply.status_code, reply.body, reply.headers
        return httpx.Response(
            status_code, json={**body, "traceId": secrets.token_hex(16)}, headers=headers, request=request
        )
