"""POST /api/webhooks/ghl/: GHL's events, verified over the raw body, stored, then answered.

GHL retries only on 429 and treats a 5xx as final, so an event is stored before anything acts on it.
Signatures: Ed25519 `X-GHL-Signature` (current) or RSA-SHA256 `x-wh-signature` (legacy); see
spec/docs/oauth/WebhookAuthentication.md and the keys in keys/.
"""

import base64
import binascii
import hashlib
import logging
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.decorators import api_view, authentication_classes, parser_classes, permission_classes
from rest_framework.permissions import AllowAny

from agencyhub.postgresql import database_patience
from integrations.bodies import UnreadableBody, webhook_body_read, webhook_json
from integrations.ghl.sandbox import sandbox_webhook_public_key
from integrations.ghl.selectors import connection_for_location
from integrations.inbox import webhook_store
from integrations.models import WebhookProvider
from integrations.spool import webhook_spool
from tenants.models import ClientAccount

logger = logging.getLogger(__name__)

KEYS_DIR = Path(__file__).resolve().parent / "keys"
# GHL events are a few kilobytes; anything near this is not a GHL event.
MAX_BODY_BYTES = 256 * 1024
# GHL resends an event answered 429 every ~10 minutes, 6 times (shared/reference/ghl-api.md §9.5), with its
# original signed timestamp: the window must cover those retries or a 429 would lose the event anyway.
# A replay inside it is harmless: a stored event is a duplicate by its webhookId (or its body's digest).
TIMESTAMP_TOLERANCE = timedelta(minutes=80)
# Seconds GHL is asked to wait when the event could be neither stored nor spooled (it waits ~10 min anyway).
RETRY_AFTER_SECONDS = 600
# The widths of WebhookEvent.event_type and unique_key.
MAX_TYPE_LENGTH = 100
MAX_WEBHOOK_ID_LENGTH = 255
ED25519_HEADER = "X-GHL-Signature"
RSA_HEADER = "X-WH-Signature"
# Kept with the event for diagnosis and re-verification; none of them is a secret.
STORED_HEADERS = ("Content-Type", "User-Agent", ED25519_HEADER, RSA_HEADER)


@lru_cache(maxsize=8)
def _load_public_key(pem: str):
    return serialization.load_pem_public_key(pem.encode())


def _public_key(setting: str, filename: str):
    """The configured PEM (settings, from the environment) or the key GHL publishes, shipped in keys/."""
    pem = getattr(settings, setting, "") or (KEYS_DIR / filename).read_text()
    return _load_public_key(pem)


def _decode(signature: str) -> bytes | None:
    try:
        return base64.b64decode(signature, validate=True)
    except binascii.Error:
        return None


def _ed25519_keys():
    """GHL's key, then (sandbox mode only) the sandbox's own, read only if GHL's did not verify."""
    yield _public_key("GHL_WEBHOOK_ED25519_PUBLIC_KEY", "ghl-webhook-ed25519-public.pem")
    if settings.SANDBOX:
        # The sandbox signs the events it sends (a business marking an appointment showed) with its own key.
        yield sandbox_webhook_public_key()


def _ed25519_valid(*, body: bytes, signature: str) -> bool:
    raw = _decode(signature)
    if raw is None or len(raw) != 64:
        return False
    for key in _ed25519_keys():
        if not isinstance(key, ed25519.Ed25519PublicKey):
            continue
        try:
            key.verify(raw, body)
        except InvalidSignature:
            continue
        return True
    return False


def _rsa_valid(*, body: bytes, signature: str) -> bool:
    key = _public_key("GHL_WEBHOOK_RSA_PUBLIC_KEY", "ghl-webhook-rsa-sha256-public.pem")
    raw = _decode(signature)
    if not isinstance(key, rsa.RSAPublicKey) or raw is None:
        return False
    try:
        key.verify(raw, body, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def signature_problem(*, body: bytes, headers) -> str | None:
    """Why the request is not provably from GHL, or None when one of its signatures verifies."""
    ed25519_signature = headers.get(ED25519_HEADER, "")
    rsa_signature = headers.get(RSA_HEADER, "")
    if not ed25519_signature and not rsa_signature:
        return f"Unsigned request: expected an {ED25519_HEADER} or {RSA_HEADER} header."
    # Ed25519 first; RSA still counts while GHL sends it (either one is unforgeable on its own).
    if ed25519_signature and _ed25519_valid(body=body, signature=ed25519_signature):
        return None
    if rsa_signature and _rsa_valid(body=body, signature=rsa_signature):
        return None
    return "Invalid signature."


def _sent_at(payload: dict) -> datetime | None:
    """When GHL says it sent the event (per-event docs omit it); ValueError when unreadable."""
    raw = payload.get("timestamp")
    if raw is None:
        return None
    try:
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            # Epoch milliseconds (JavaScript's Date.now()) or seconds.
            sent_at = datetime.fromtimestamp(raw / 1000 if raw > 1e11 else raw, tz=UTC)
        else:
            sent_at = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except (OverflowError, OSError) as exc:
        raise ValueError(str(exc)) from exc
    return sent_at if timezone.is_aware(sent_at) else sent_at.replace(tzinfo=UTC)


def _client_for_location(location_id: str) -> ClientAccount | None:
    if not location_id:
        return None
    connection = connection_for_location(location_id)
    return connection.client if connection is not None else None


def _reject(status: int, reason: str) -> JsonResponse:
    logger.info("GHL webhook rejected (%s): %s", status, reason)
    return JsonResponse({"detail": reason}, status=status)


@extend_schema(
    summary="GoHighLevel webhooks",
    description="Every app event GHL sends (install, uninstall, appointments, locations). Verified over the raw "
    "body by the Ed25519 X-GHL-Signature or the RSA x-wh-signature, stored, then processed in the background.",
    request={"application/json": OpenApiTypes.OBJECT},
    parameters=[
        OpenApiParameter(ED25519_HEADER, str, OpenApiParameter.HEADER, description="Base64 Ed25519 signature"),
        OpenApiParameter(RSA_HEADER, str, OpenApiParameter.HEADER, description="Base64 RSA-SHA256 (legacy)"),
    ],
    responses={
        200: OpenApiResponse(OpenApiTypes.OBJECT, description="Stored, or a duplicate of a stored event"),
        400: OpenApiResponse(description="Not JSON, no type, or an unreadable field"),
        401: OpenApiResponse(description="Unsigned, badly signed or stale: nothing stored"),
        413: OpenApiResponse(description="Body too large"),
        429: OpenApiResponse(description="Database unreachable and nothing could spool the event: GHL resends it"),
    },
    tags=["webhooks"],
)
@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
@parser_classes([])  # Verified over the raw bytes, so nothing may parse the body first.
def ghl_webhook(request) -> JsonResponse:
    # GHL resends only on 429: a database that stops answering must become one (or a spooled event) in seconds.
    with database_patience(settings.DATABASE_LIVE_QUERY_TIMEOUT):
        return _ghl_webhook_receive(request)


def _ghl_webhook_receive(request) -> JsonResponse:
    # Refused before reading when declared too large, so an oversize body is never pulled into memory.
    body = webhook_body_read(request, limit=MAX_BODY_BYTES)
    if body is None:
        return _reject(413, f"Body larger than {MAX_BODY_BYTES} bytes.")

    problem = signature_problem(body=body, headers=request.headers)
    if problem:
        return _reject(401, problem)

    try:
        payload = webhook_json(body)
    except UnreadableBody as exc:
        return _reject(400, str(exc))
    if not isinstance(payload, dict):
        return _reject(400, "Body must be a JSON object.")
    event_type = payload.get("type")
    if not isinstance(event_type, str) or not event_type:
        return _reject(400, "Missing event 'type'.")
    if len(event_type) > MAX_TYPE_LENGTH:
        return _reject(400, f"Event 'type' longer than {MAX_TYPE_LENGTH} characters.")
    try:
        sent_at = _sent_at(payload)
    except ValueError:
        return _reject(400, f"Unreadable timestamp {str(payload['timestamp'])[:40]!r}.")
    # Replay protection: a captured request cannot be resent later.
    if sent_at is not None and abs(timezone.now() - sent_at) > TIMESTAMP_TOLERANCE:
        return _reject(401, "Stale timestamp: the event was sent more than 80 minutes ago.")

    webhook_id = str(payload.get("webhookId") or "")
    if len(webhook_id) > MAX_WEBHOOK_ID_LENGTH:
        return _reject(400, f"'webhookId' longer than {MAX_WEBHOOK_ID_LENGTH} characters.")
    # Without a webhookId the body's digest still makes a byte-identical redelivery a duplicate.
    unique_key = webhook_id or f"sha256:{hashlib.sha256(body).hexdigest()}"
    location_id = str(payload.get("locationId") or "")
    headers = {name: request.headers[name] for name in STORED_HEADERS if name in request.headers}
    stored = {"event_type": event_type, "unique_key": unique_key, "body": payload, "headers": headers}
    try:
        event, created = webhook_store(provider=WebhookProvider.GHL, client=_client_for_location(location_id), **stored)
    except (OperationalError, InterfaceError):
        return _unstored(stored=stored, location_id=location_id)
    return JsonResponse({"status": "stored" if created else "duplicate", "id": str(event.public_id)})


def _unstored(*, stored: dict, location_id: str) -> JsonResponse:
    """The database is unreachable: spool the event (acknowledged), else 429 so GHL sends it again; never
    a 5xx, which GHL treats as final (shared/reference/ghl-api.md §9.5)."""
    if webhook_spool(provider=WebhookProvider.GHL, location_id=location_id, **stored):
        return JsonResponse({"status": "spooled"})
    logger.error("GHL webhook %s neither stored nor spooled: answered 429", stored["unique_key"])
    response = JsonResponse({"detail": "Temporarily unable to store the event; retry later."}, status=429)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
