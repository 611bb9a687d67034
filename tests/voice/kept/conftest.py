from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.ghl.demo import sandbox_connect
from integrations.ghl.sandbox import sandbox_seed
from integrations.sandbox.models import SandboxObject
from tests.factories import BookingFactory, CallFactory

LOCATION = "sbxLocChicago0000001"
CLEANING = "sbxLocChicagCleaning"


def on_sandbox(cast, settings):
    """A Chicago client on the GHL sandbox (signed sandbox webhooks accepted, SANDBOX on)."""
    settings.SANDBOX = True
    sandbox_seed()
    sandbox_connect(client=cast.client_account, location_id=LOCATION)
    cast.client_account.refresh_from_db()
    return cast


@pytest.fixture
def kept(cast, settings):
    return on_sandbox(cast, settings)


def sandbox_appointment(appointment_id: str, start, status: str = "confirmed") -> dict:
    """An appointment in the sandbox's calendar, as GHL would hold it (created earlier, maybe in the past)."""
    data = {
        "id": appointment_id,
        "calendarId": CLEANING,
        "locationId": LOCATION,
        "contactId": "contact-dana",
        "title": "Cleaning with Dana",
        "appointmentStatus": status,
        "startTime": start.isoformat(),
        "endTime": (start + timedelta(minutes=30)).isoformat(),
        "dateAdded": (timezone.now() - timedelta(days=20)).isoformat(),
    }
    SandboxObject.objects.create(
        provider="ghl", kind="appointment", object_id=appointment_id, parent_id=CLEANING, data=data
    )
    return data


def booked(cast, appointment_id: str, start, **fields):
    """A booking the assistant made on a call, for an appointment in the sandbox."""
    call = CallFactory(client=cast.client_account, started_at=start - timedelta(days=2))
    sandbox_appointment(appointment_id, start)
    defaults = dict(call=call, ghl_appointment_id=appointment_id, calendar_id=CLEANING, start=start)
    return BookingFactory(**{**defaults, **fields})
