"""The GHL sandbox: a local stand-in for GHL's v2 API (DESIGN.md "Running"), as one package:
store (its rows and seed), replies (requests and error answers), oauth, calendars, contacts, custom_fields,
conversations (SMS), transport, webhooks (events sent to this app, signed)."""

from .calendars import SLOT_UNAVAILABLE, sandbox_appointment_status_set, sandbox_appointments
from .contacts import sandbox_contact_dnd_set
from .conversations import DND_REFUSAL, sandbox_texts_by_appointment
from .oauth import sandbox_authorization_code_create
from .store import (
    SANDBOX_CALENDARS,
    SANDBOX_COMPANY_ID,
    SANDBOX_CUSTOM_FIELDS,
    SANDBOX_LOCATIONS,
    sandbox_locations,
    sandbox_seed,
)
from .transport import GhlSandboxTransport
from .webhooks import SandboxWebhookRefused, sandbox_webhook_public_key

__all__ = [
    "DND_REFUSAL",
    "SANDBOX_CALENDARS",
    "SANDBOX_COMPANY_ID",
    "SANDBOX_CUSTOM_FIELDS",
    "SANDBOX_LOCATIONS",
    "SLOT_UNAVAILABLE",
    "GhlSandboxTransport",
    "SandboxWebhookRefused",
    "sandbox_appointment_status_set",
    "sandbox_appointments",
    "sandbox_authorization_code_create",
    "sandbox_contact_dnd_set",
    "sandbox_locations",
    "sandbox_seed",
    "sandbox_texts_by_appointment",
    "sandbox_webhook_public_key",
]
