"""The sandbox's webhooks: events shaped like GHL's (docs/webhook-events), checked against those docs,
signed Ed25519 like GHL's X-GHL-Signature with the sandbox's own key, and POSTed to this app's GHL endpoint
through Django itself. The endpoint accepts the sandbox's key only while settings.SANDBOX is on."""

import base64
import json
import uuid

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.conf import settings
from django.db import IntegrityError
from django.urls import reverse
from django.utils import timezone

from integrations.ghl import specs
from integrations.sandbox.inprocess import in_process_app

from . import store

KEY_ID = "ed25519"
# The appointment fields GHL's AppointmentCreate/Update event documents (docs/webhook-events/AppointmentUpdate.md).
APPOINTMENT_EVENT_FIELDS = (
    "id",
    "address",
    "title",
    "calendarId",
    "contactId",
    "groupId",
    "appointmentStatus",
    "assignedUserId",
    "users",
    "notes",
    "source",
    "startTime",
    "endTime",
    "dateAdded",
    "dateUpdated",
)


class SandboxWebhookRefused(Exception):
    """The app's endpoint did not accept the event the sandbox sent."""


def _private_key() -> ed25519.Ed25519PrivateKey:
    found = store.get("webhook_key", KEY_ID)
    if found is None:
        fresh = ed25519.Ed25519PrivateKey.generate()
        pem = fresh.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        try:
            found = store.create("webhook_key", {"private_pem": pem}, object_id=KEY_ID)
        except IntegrityError:
            found = store.get("webhook_key", KEY_ID)
    return serialization.load_pem_private_key(found.data["private_pem"].encode(), password=None)


def sandbox_webhook_public_key() -> ed25519.Ed25519PublicKey | None:
    """The key the sandbox signs with; None until it has sent anything."""
    found = store.get("webhook_key", KEY_ID)
    if found is None:
        return None
    return serialization.load_pem_private_key(found.data["private_pem"].encode(), password=None).public_key()


def appointment_event(*, event_type: str, appointment: dict) -> dict:
    """An AppointmentCreate/Update/Delete event as GHL sends it, checked against GHL's event doc."""
    fields = {key: appointment[key] for key in APPOINTMENT_EVENT_FIELDS if key in appointment}
    payload = {
        "type": event_type,
        "locationId": appointment["locationId"],
        "appointment": fields,
        "webhookId": str(uuid.uuid4()),
        "timestamp": timezone.now().isoformat().replace("+00:00", "Z"),
    }
    errors = specs.webhook_event_errors(event_type=event_type, payload=payload)
    if errors:
        raise ValueError(f"The sandbox's {event_type} does not fit GHL's event doc: {errors}")
    return payload


def sandbox_webhook_send(payload: dict) -> None:
    body = json.dumps(payload, separators=(",", ":")).encode()
    signature = base64.b64encode(_private_key().sign(body)).decode()
    with httpx.Client(transport=httpx.WSGITransport(app=in_process_app()), base_url=settings.PUBLIC_BASE_URL) as http:
        response = http.post(
            reverse("ghl_webhook"),
            content=body,
            headers={"Content-Type": "application/json", "X-GHL-Signature": signature},
        )
    if response.status_code != 200:
        raise SandboxWebhookRefused(f"The app answered HTTP {response.status_code}: {response.text[:200]}")
