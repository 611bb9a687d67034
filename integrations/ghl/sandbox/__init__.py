"""The GHL sandbox: a local stand-in for GHL's v2 API (DESIGN.md "Running"), as one package:
store (its rows and seed), replies (requests and error answers), oauth, calendars, contacts, custom_fields,
conversations (SMS), transport."""

from .calendars import SLOT_UNAVAILABLE, sandbox_appointment_status_set
from .contacts import sandbox_contact_dnd_set
from .conversations import DND_REFUSAL
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

__all__ = [
    "DND_REFUSAL",
    "SANDBOX_CALENDARS",
    "SANDBOX_COMPANY_ID",
    "SANDBOX_CUSTOM_FIELDS",
    "SANDBOX_LOCATIONS",
    "SLOT_UNAVAILABLE",
    "GhlSandboxTransport",
    "sandbox_appointment_status_set",
    "sandbox_authorization_code_create",
    "sandbox_contact_dnd_set",
    "sandbox_locations",
    "sandbox_seed",
]
