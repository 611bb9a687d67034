"""The GHL sandbox: a local stand-in for GHL's v2 API (DESIGN.md "Running"), as one package:
store (its rows and seed), replies (requests and error answers), oauth, calendars, contacts, transport."""

from .calendars import SLOT_UNAVAILABLE
from .oauth import sandbox_authorization_code_create
from .store import SANDBOX_CALENDARS, SANDBOX_COMPANY_ID, SANDBOX_LOCATIONS, sandbox_locations, sandbox_seed
from .transport import GhlSandboxTransport

__all__ = [
    "SANDBOX_CALENDARS",
    "SANDBOX_COMPANY_ID",
    "SANDBOX_LOCATIONS",
    "SLOT_UNAVAILABLE",
    "GhlSandboxTransport",
    "sandbox_authorization_code_create",
    "sandbox_locations",
    "sandbox_seed",
]
