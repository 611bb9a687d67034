"""A request for an agency this process remembers starts on its memory copy of the agency's auth and setup before
the cache has confirmed it (voice/live/setup.py, Confirmation): the check rides with the slots' read. Nothing may
act on the copy before that check (no GHL request, no write, no record, no answer), and a copy gone stale (a
rotated secret, an edit) is never answered from: the request starts again on the confirmed path."""

import json
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from integrations.ghl.sandbox.transport import GhlSandboxTransport
from integrations.models import WebhookEvent
from tests.vapi import SECRET, next_weekday, tool_calls, tool_results, vapi_post
from voice.assistants import services as assistants_services
from voice.live import setup, slots
from voice.models import Booking, Call, ToolCallRecord, VapiAccount

pytestmark = pytest.mark.django_db


@pytest.fixture
def ghl_requests(monkeypatch):
    """The paths of the requests sent to GHL (the sandbox), from the moment the test clears it."""
    sent, real = [], GhlSandboxTransport.handle_request

    def counting(self, request):
        sent.append(request.url.path)
        return real(self, request)

    monkeypatch.setattr(GhlSandboxTransport, "handle_request", counting)
    return sent


def _check(client, live, tool_id, *, call_id="call-r", args=None, **headers):
    args = args or {"date": next_weekday().isoformat(), "service": "cleaning"}
    return vapi_post(client, live.url, tool_calls((tool_id, "check_availability", args), call_id=call_id), **headers)


def _remembered(client, live):
    """One answered tool call: this process now keeps the agency's auth and the assistant's setup in memory."""
    assert "result" in tool_results(_check(client, live, "t0"))[0]
    assert setup.agency_auth_remembered(public_id=live.agency.public_id) is not None


def _cleaning_cold(live):
    """The cleaning calendar's cached days made stale: a tool call on it would ask GHL."""
    calendar_id = live.assistant.calendars.get(spoken_name="cleaning").calendar_id
    slots.slots_invalidate(client_id=live.client_account.pk, calendar_id=calendar_id)


def test_an_old_secret_is_refused_on_the_very_next_request_and_nothing_is_done_for_it(live, client, ghl_requests):
    _remembered(client, live)
    _cleaning_cold(live)
    assistants_services.vapi_account_secret_rotate(agency=live.agency)
    ghl_requests.clear()

    response = _check(client, live, "t1", call_id="call-unseen", HTTP_X_VAPI_SECRET=SECRET)

    assert response.status_code == 401
    assert ghl_requests == []
    assert not Call.objects.filter(vapi_call_id="call-unseen").exists()
    assert not ToolCallRecord.objects.filter(tool_call_id="t1").exists()


def test_the_new_secret_is_accepted_by_a_process_that_remembers_the_old_one(live, client):
    _remembered(client, live)
    new_secret = assistants_services.vapi_account_secret_rotate(agency=live.agency).webhook_secret
    answer = tool_results(_check(client, live, "t1", HTTP_AUTHORIZATION=f"Bearer {new_secret}"))[0]
    assert answer["result"].startswith("For cleaning, I have")
    assert VapiAccount.objects.get(agency=live.agency).webhook_secret == new_secret


def test_an_old_secret_is_refused_before_anything_is_stored(live, client):
    _remembered(client, live)
    assistants_services.vapi_account_secret_rotate(agency=live.agency)
    message = {
        "type": "status-update",
        "status": "in-progress",
        "timestamp": int(time.time() * 1000),
        "call": {"id": "call-after-rotation", "assistantId": "asst-live-1"},
    }
    assert vapi_post(client, live.url, message).status_code == 401
    assert not WebhookEvent.objects.filter(event_type="status-update").exists()


def test_an_old_secret_is_refused_also_for_a_question_answered_without_the_cache(live, client):
    """The day cannot be understood: the tool fails before reading any slot, so nothing carried the check."""
    _remembered(client, live)
    assistants_services.vapi_account_secret_rotate(agency=live.agency)
    response = _check(client, live, "t1", args={"date": "the day after never"})
    assert response.status_code == 401
    assert not ToolCallRecord.objects.filter(tool_call_id="t1").exists()


def test_a_booking_right_after_an_edit_is_made_on_the_edited_setup(live, client):
    _remembered(client, live)  # the Chicago setup is in memory
    live.assistant.time_zone = "America/New_York"
    live.assistant.save()
    tuesday = next_weekday()
    args = {"start_time": f"{tuesday}T10:00", "name": "Ada", "service": "cleaning"}

    (answer,) = tool_results(vapi_post(client, live.url, tool_calls(("b1", "book_appointment", args))))

    assert answer["result"].startswith("You're booked"), answer
    booking = Booking.objects.get(tool_call_id="b1")
    assert booking.start == datetime(tuesday.year, tuesday.month, tuesday.day, 10, tzinfo=ZoneInfo("America/New_York"))


def test_an_edit_is_answered_once_and_the_next_question_is_warm_again(live, client, ghl_requests):
    _remembered(client, live)
    calendar = live.assistant.calendars.get(spoken_name="cleaning")
    calendar.spoken_name = "deep cleaning"
    calendar.save()
    ghl_requests.clear()

    (first,) = tool_results(_check(client, live, "t1"))
    (again,) = tool_results(_check(client, live, "t2"))

    assert first["result"].startswith("For deep cleaning,") and again["result"] == first["result"]
    assert ToolCallRecord.objects.get(tool_call_id="t1").result == first["result"]
    assert ghl_requests == []  # the slots stayed cached: only the setup was read again
    remembered = setup.agency_auth_remembered(public_id=live.agency.public_id)
    assert remembered is not None and remembered[1].keys()  # the new copy, its check owed by the next request


def test_a_malformed_body_from_a_remembered_agency_is_still_told_why(live, client):
    _remembered(client, live)
    body = json.dumps({"message": {"call": {"id": "call-x"}}})
    response = client.post(live.url, data=body, content_type="application/json", HTTP_X_VAPI_SECRET=SECRET)
    assert response.status_code == 400 and "type" in response.json()["error"]
