"""Vapi server messages as tests send them: the message shapes, the one way to sign them, the one way to post them."""

import hashlib
import hmac
import json
import time
from contextlib import contextmanager
from unittest import mock
from zoneinfo import ZoneInfo

from django.utils import timezone

from integrations.ghl.demo import sandbox_connect
from integrations.ghl.sandbox import sandbox_seed
from tests.factories import AssistantFactory
from voice.assistants.selectors import client_calendars
from voice.live.speech import requested_day
from voice.models import VapiAccount

SECRET = "agency-a-vapi-secret"
CHICAGO = ZoneInfo("America/Chicago")
CALLER = "+13125550142"


def signature_headers(body: bytes, *, secret: str = SECRET, timestamp: str = "", prefix: str = "") -> dict:
    """Vapi's HMAC headers: X-Signature over "{timestamp}.{body}", X-Timestamp now unless given."""
    timestamp = timestamp or str(int(time.time()))
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"X-Signature": prefix + digest, "X-Timestamp": timestamp}


def vapi_post(client, url, message, **headers):
    """Posts one server message with the agency's secret header, unless other headers are given."""
    headers = headers or {"HTTP_X_VAPI_SECRET": SECRET}
    return client.post(url, data=json.dumps({"message": message}), content_type="application/json", **headers)


def vapi_post_signed(client, url, body: bytes, **signing):
    """Posts a raw body signed with HMAC (see signature_headers for `secret`, `timestamp`, `prefix`)."""
    return client.post(url, data=body, content_type="application/json", headers=signature_headers(body, **signing))


def tool_calls(*calls, call_id="call-1", caller=CALLER):
    """A tool-calls message; each call is (tool call id, function name, arguments)."""
    return {
        "type": "tool-calls",
        "timestamp": int(time.time() * 1000),
        "call": {"id": call_id, "assistantId": "asst-live-1", "customer": {"number": caller}},
        "toolCallList": [
            {"id": tool_id, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
            for tool_id, name, args in calls
        ],
    }


def call_start(client, url, *, call_id="call-start-1", caller=CALLER) -> dict:
    """Vapi's assistant-request for a call to the number pn-1 (+13125550100); the answer's JSON."""
    message = {
        "type": "assistant-request",
        "call": {"id": call_id, "phoneNumberId": "pn-1", "customer": {"number": caller}},
        "phoneNumber": {"id": "pn-1", "number": "+13125550100"},
    }
    response = vapi_post(client, url, message)
    assert response.status_code == 200
    return response.json()


def tool_results(response):
    assert response.status_code == 200, response.content
    return response.json()["results"]


def next_weekday(name="tuesday"):
    return requested_day(name, CHICAGO, today=timezone.now().astimezone(CHICAGO).date())


@contextmanager
def patched_vapi():
    """Replaces VapiClient; `with VapiClient(...) as client` then gives the same mock as the instance."""
    with mock.patch("voice.assistants.vapi_org.VapiClient") as client_class:
        client_class.return_value.__enter__.return_value = client_class.return_value
        yield client_class


def live_call_setup(cast):
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
