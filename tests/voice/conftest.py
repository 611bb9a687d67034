import pytest

from integrations.ghl.demo import sandbox_connect
from integrations.ghl.sandbox import sandbox_seed
from tests.factories import AssistantFactory

# The GHL HTTP watch (tests/ghl_http.py): every test here fails on a GHL request sent inside transaction.atomic.
from tests.ghl_http import ghl_http_opened, ghl_http_outside_transactions  # noqa: F401
from tests.vapi import SECRET
from voice.assistants.selectors import client_calendars
from voice.models import VapiAccount


@pytest.fixture
def live(cast):
    """A Chicago client on the GHL sandbox whose assistant books into two calendars; Vapi posts to `cast.url`."""
    sandbox_seed()
    sandbox_connect(client=cast.client_account, location_id="sbxLocChicago0000001")
    cast.client_account.refresh_from_db()
    calendars = client_calendars(client=cast.client_account)
    cleaning = next(c for c in calendars if c["name"] == "Cleaning")
    consultation = next(c for c in calendars if c["name"] == "Consultation")
    assistant = AssistantFactory(client=cast.client_account, time_zone="America/Chicago")
    assistant.calendars.all().delete()
    assistant.calendars.create(calendar_id=cleaning["id"], calendar_name="Cleaning", spoken_name="cleaning")
    assistant.calendars.create(calendar_id=consultation["id"], calendar_name="Consultation", spoken_name="consultation")
    assistant.vapi_id = "asst-live-1"
    assistant.save()
    VapiAccount.objects.update_or_create(agency=cast.agency, defaults={"webhook_secret": SECRET})
    cast.assistant = assistant
    cast.url = f"/api/webhooks/vapi/{cast.agency.public_id}/"
    return cast
